#!/usr/bin/env bash
# Configures and builds one flavour of tacc.
#   scripts/build.sh [release|asan] -> build/<flavour>/
set -euo pipefail
cd "$(dirname "$0")/.."
flavour=${1:-release}
case "$flavour" in
  release) type=RelWithDebInfo; extra=() ;;
  asan)    type=Debug; extra=(-DTACC_SANITIZE=ON) ;;
  *) echo "build.sh: unknown flavour '$flavour' (release|asan)" >&2; exit 2 ;;
esac
werror=OFF; [[ "${CI:-}" == "true" || "${TACC_WERROR:-}" == "1" ]] && werror=ON
cmake -S . -B "build/$flavour" -G Ninja -DCMAKE_BUILD_TYPE=$type -DTACC_WERROR=$werror \
  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache "${extra[@]}" >/dev/null
cmake --build "build/$flavour" -j "$(nproc)"
