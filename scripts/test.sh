#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it (.ci/run calls this and nothing
# else). On a fresh Debian 12 machine it installs what is missing first.
#
#   scripts/test.sh            everything: format, clang-tidy, ThreadSanitizer,
#                              fuzzers, benchmark smoke run, then every test
#                              under ASan/UBSan, the emulator driven by real
#                              Lambda clients included (its ctest summary
#                              comes last)
#   FUZZ_SECONDS=60 scripts/test.sh    fuzz longer (default 10 s per target)
#   SKIP_LINT=1 scripts/test.sh        skip clang-format and clang-tidy
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

started=$SECONDS
step() { printf '\n==== [%4d s] %s\n' "$((SECONDS - started))" "$*"; }
fuzz_seconds=${FUZZ_SECONDS:-10}
# Suites run as many at once as there are cores (TEST_JOBS overrides): most
# wait on processes and sockets, so the slow ones overlap.
jobs=${TEST_JOBS:-$(( $(nproc) ))}

if [ -z "${SKIP_LINT:-}" ]; then
  step "clang-format (scripts/format.sh --check)"
  scripts/format.sh --check

  step "clang-tidy (preset lint)"
  cmake --preset lint >/dev/null
  cmake --build --preset lint --target faultline_lint
fi

step "ThreadSanitizer (preset tsan): core, http, emulator, load generator, extension and experiment runner tests"
cmake --preset tsan >/dev/null
cmake --build --preset tsan --target faultline_core_test c_api_test faultline_http_test \
  faultline_lambda_test faultline_example_functions faultline_load_test \
  faultline_extension_test faultline_experiment_runner_test faultline_experiment_provider_test \
  faultline
# The experiment runner's and providers' threads (background activities, the
# continuous hypothesis, stop conditions, the python worker); not the
# comparison with chaos or the report's browser test, which add no threads.
ctest --preset tsan -L "core|http|lambda|load|extension|experiment" \
  -E "^experiment\\." --timeout 300 -j "$jobs"

step "fuzz targets (preset fuzz), ${fuzz_seconds} s each"
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz --target faultline_fuzzers
# Every libFuzzer binary of every module, build/fuzz/src/MODULE/NAME_fuzz:
# a new *_fuzz target in any src/*/CMakeLists.txt that joins
# faultline_fuzzers is run here with no edit. Seeds: src/MODULE/testdata/NAME/ when
# it exists, else the files of src/MODULE/testdata/.
for fuzzer in build/fuzz/src/*/*_fuzz; do
  [ -f "$fuzzer" ] && [ -x "$fuzzer" ] || continue
  name=$(basename "$fuzzer")
  module=$(basename "$(dirname "$fuzzer")")
  seeds="src/$module/testdata/$name"
  [ -d "$seeds" ] || seeds="src/$module/testdata"
  corpus="build/fuzz/corpus/$name"
  mkdir -p "$corpus"
  cp -n "$seeds"/* "$corpus/" 2>/dev/null || true
  log="build/fuzz/$name.log"
  if ! "$fuzzer" -max_total_time="$fuzz_seconds" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="build/fuzz/$name-" "$corpus" >"$log" 2>&1; then
    tail -n 60 "$log"
    echo "fuzz target $name failed; the input is in build/fuzz/$name-*" >&2
    exit 1
  fi
  echo "$name: $(grep -m1 stat::number_of_executed_units "$log" | awk '{print $2}') inputs, no failure"
done

step "release build of the program and the benchmarks, and a benchmark smoke run (figures: docs/performance.md)"
cmake --preset release >/dev/null
# The tests run in the sanitizer builds; here only what users and bench/ run.
cmake --build --preset release --target faultline faultline_benchmarks
build/release/bench/faultline_bench --benchmark_min_time=0.01 >/dev/null
build/release/bench/faultline_sigv4_bench --benchmark_min_time=0.01 >/dev/null
echo "faultline_bench and faultline_sigv4_bench ran"
FAULTLINE_BIN=build/release/src/cli/faultline python3 bench/experiment_bench.py --quick >/dev/null
echo "bench/experiment_bench.py --quick ran"

step "real Lambda clients for the integration tests (scripts/install-test-clients.sh)"
scripts/install-test-clients.sh
ls build/test-clients/*.unavailable 2>/dev/null && cat build/test-clients/*.unavailable || true

step "every test under AddressSanitizer and UndefinedBehaviorSanitizer (preset dev)"
cmake --preset dev >/dev/null
cmake --build --preset dev
ctest --preset dev --timeout 1200 -j "$jobs"
step "done"
