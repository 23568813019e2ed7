#!/usr/bin/env bash
# The runtime API proxy extension's figures (docs/performance.md, "Runtime API
# proxy extension"): added latency per warm invocation (proxy vs direct, the C++
# echo example on the local emulator), the proxy's RSS, registration to ready,
# and the added time of a 6 MB pass-through.
#
#   cmake --preset release -B build/h-ext-rel
#   cmake --build build/h-ext-rel --target faultline faultline_example_functions
#   bench/extension_bench.sh build/h-ext-rel [N [N_6MB [OTHER_BUILD [--relay]]]]
#
# With OTHER_BUILD, that build's extension runs beside this one's in the same
# emulator (`proxied_b`, invocations in a shuffled order each round): a
# before/after comparison that machine noise touches equally.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build/release}"
n="${2:-2000}"
big="${3:-20}"
compare=()
if [ -n "${4:-}" ] && [ "${4}" != - ]; then compare=(--compare "$4"); fi
shift $(($# < 4 ? $# : 4))
exec python3 "$root/bench/extension_bench.py" --build "$build" --n "$n" --big "$big" \
  "${compare[@]}" "$@"
