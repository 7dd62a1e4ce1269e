#!/usr/bin/env bash
# One command: install dependencies, build, and run a whole tacc cluster here.
#   scripts/up.sh [tacc up flags...]    e.g. scripts/up.sh --frontends 2
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh release
exec build/release/tacc up "$@"
