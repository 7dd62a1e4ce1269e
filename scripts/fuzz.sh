#!/usr/bin/env bash
# Builds every libFuzzer target (tests/fuzz/*_fuzz.cc) with clang in build/fuzz and runs
# each for FUZZ_SECONDS (default 20) over a temporary copy of its seeds
# (tests/fuzz/corpus/<target less _fuzz>). Prints a line per target with its executions;
# fails if any target crashes, leaks, times out or breaks a check (the crashing input is
# kept in build/fuzz/artifacts/). scripts/test.sh runs it in CI.
#   FUZZ_SECONDS=60 scripts/fuzz.sh [target...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-20}
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/tacc-ccache}
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$(pwd)}

targets=("$@")
if ((${#targets[@]} == 0)); then
  for f in tests/fuzz/*_fuzz.cc; do targets+=("$(basename "$f" .cc)"); done
fi
CC=clang CXX=clang++ cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTACC_ALLOCATOR=system \
  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache >/dev/null
# Only the targets: each compiles the few files it tests (tests/fuzz/CMakeLists.txt).
cmake --build build/fuzz -j "$(nproc)" --target "${targets[@]}" >build/fuzz/build.log 2>&1 || { tail -50 build/fuzz/build.log; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p build/fuzz/artifacts
failed=0
for t in "${targets[@]}"; do
  seeds=tests/fuzz/corpus/${t%_fuzz}
  mkdir -p "$work/$t"
  [[ -d "$seeds" ]] && cp -r "$seeds/." "$work/$t/"
  log=$work/$t.log
  # -timeout: one input taking longer is a failure; -rss_limit_mb: so is a memory blow-up.
  if build/fuzz/tests/fuzz/"$t" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="build/fuzz/artifacts/$t-" "$work/$t" >"$log" 2>&1; then
    execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log")
    echo "fuzz: $t passed: ${execs:-?} executions in $seconds s, $(ls "$work/$t" | wc -l) inputs in the corpus"
  else
    echo "fuzz: $t FAILED (inputs that fail: build/fuzz/artifacts/$t-*); its log ends:"
    tail -40 "$log"
    failed=1
  fi
done
exit $failed
