#!/usr/bin/env bash
# `faultline load` against wrk and ab (apache2-utils), same target, same
# connection count and duration, then its accuracy against a server that
# answers in a fixed 10 ms, then (MEMORY_SECONDS > 0) its RSS over a long run.
# Needs a release build (faultline and faultline_fixed_delay_server) and
# Debian's nginx, wrk and apache2-utils (scripts/install-deps.sh).
#
#   cmake --preset release && cmake --build --preset release
#   bench/load_vs_wrk.sh                         # C=8 D=5 RUNS=3
#   C=8 D=5 RUNS=3 MEMORY_SECONDS=60 bench/load_vs_wrk.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$root/build/release}
c=${C:-8}
d=${D:-5}
runs=${RUNS:-3}
memory_seconds=${MEMORY_SECONDS:-0}
faultline=$build/src/cli/faultline
delay_server=$build/bench/faultline_fixed_delay_server
for tool in "$faultline" "$delay_server"; do
  [ -x "$tool" ] || { echo "missing $tool: build the release preset first" >&2; exit 1; }
done
for tool in wrk ab python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool (scripts/install-deps.sh)" >&2; exit 1; }
done
# shellcheck source=tests/load/nginx.sh
source "$root/tests/load/nginx.sh"

dir=$(mktemp -d "${TMPDIR:-/tmp}/faultline-bench.XXXXXX")
chmod 755 "$dir"  # nginx's workers (another user when started as root) read under it
delay_pid=
cleanup() {
  nginx_stop
  [ -n "$delay_pid" ] && kill "$delay_pid" 2>/dev/null && wait "$delay_pid" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT

json() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print($2)" "$1"; }
# CPU seconds (user + system) that a command used, into $dir/cpu; its
# output into the file given first. On a busy machine requests/s swing with
# the neighbours; CPU per request much less.
cpu_of() {
  local out=$1; shift
  local TIMEFORMAT='%U %S'
  { time "$@" > "$out" 2>/dev/null; } 2> "$dir/cpu.raw"
  awk '{print $1 + $2}' "$dir/cpu.raw" > "$dir/cpu"
}
per_100k() { python3 -c "print(f'{$1 / $2 * 1e5:.2f}')"; }
median() { python3 -c 'import statistics,sys; print(f"{statistics.median(map(float, sys.argv[1:])):.0f}")' "$@"; }

nginx_start "$dir/nginx" 1
url="http://127.0.0.1:$NGINX_PORT/"
echo "# $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), nginx $(nginx -v 2>&1 | sed 's/.*\///'), -c $c, ${d}s, $runs runs"
echo "## requests/s against nginx (1 worker) at $url"
declare -a fl wr abk abn flcpu wrcpu
for i in $(seq 1 "$runs"); do
  cpu_of "$dir/fl.json" "$faultline" load -c "$c" -d "$d" --json "$url"
  fl+=("$(json "$dir/fl.json" 'r["requests"]["per_second"]')")
  flcpu+=("$(per_100k "$(cat "$dir/cpu")" "$(json "$dir/fl.json" 'r["requests"]["total"]')")")
  cpu_of "$dir/wrk.out" wrk -t 2 -c "$c" -d "${d}s" "$url"
  wr+=("$(awk '/Requests\/sec/ {print $2}' "$dir/wrk.out")")
  wrcpu+=("$(per_100k "$(cat "$dir/cpu")" "$(awk '/requests in/ {print $1}' "$dir/wrk.out")")")
  abk+=("$(ab -k -c "$c" -t "$d" -n 100000000 "$url" 2>/dev/null | awk '/Requests per second/ {print $4}')")
  abn+=("$(ab -c "$c" -t "$d" -n 100000000 "$url" 2>/dev/null | awk '/Requests per second/ {print $4}')")
  echo "run $i: faultline ${fl[-1]}  wrk ${wr[-1]}  ab -k ${abk[-1]}  ab ${abn[-1]}  (CPU s per 100k requests: faultline ${flcpu[-1]}, wrk ${wrcpu[-1]}; load $(cut -d' ' -f1 /proc/loadavg))"
  fl_errors=$(json "$dir/fl.json" 'r["requests"]["failed"]')
  [ "$fl_errors" = 0 ] || { echo "faultline counted $fl_errors failed requests: not a fair run" >&2; exit 1; }
done
m_flcpu=$(python3 -c 'import statistics,sys; print(f"{statistics.median(map(float, sys.argv[1:])):.2f}")' "${flcpu[@]}")
m_wrcpu=$(python3 -c 'import statistics,sys; print(f"{statistics.median(map(float, sys.argv[1:])):.2f}")' "${wrcpu[@]}")
m_fl=$(median "${fl[@]}"); m_wr=$(median "${wr[@]}"); m_abk=$(median "${abk[@]}"); m_abn=$(median "${abn[@]}")
echo
echo "| tool | requests/s (median of $runs) | faultline / tool |"
echo "|---|---|---|"
echo "| faultline load -c $c -d $d | $m_fl | 1.00 |"
echo "| wrk -t 2 -c $c -d ${d}s | $m_wr | $(python3 -c "print(f'{$m_fl/$m_wr:.2f}')") |"
echo "| ab -k -c $c -t $d | $m_abk | $(python3 -c "print(f'{$m_fl/$m_abk:.2f}')") |"
echo "| ab -c $c -t $d (no keep-alive) | $m_abn | $(python3 -c "print(f'{$m_fl/$m_abn:.2f}')") |"
echo
echo "CPU seconds per 100k requests (median): faultline $m_flcpu, wrk $m_wrcpu"
nginx_stop

echo
echo "## accuracy against a server that answers in 10 ms"
"$delay_server" 10 > "$dir/port" &
delay_pid=$!
for _ in $(seq 1 100); do [ -s "$dir/port" ] && break; sleep 0.05; done
delay_url="http://127.0.0.1:$(cat "$dir/port")/"
"$faultline" load -c "$c" -d "$d" --json "$delay_url" > "$dir/closed.json"
"$faultline" load -c "$c" -d "$d" -R 400 --json "$delay_url" > "$dir/open.json"
wrk -t 2 -c "$c" -d "${d}s" --latency "$delay_url" > "$dir/wrk.txt"
echo "| run | p50 ms | p99 ms | max ms | requests |"
echo "|---|---|---|---|---|"
for run in closed open; do
  label="faultline load -c $c -d $d"; [ $run = open ] && label="$label -R 400"
  echo "| $label | $(json "$dir/$run.json" 'r["latency_ms"]["p50"]') | $(json "$dir/$run.json" 'r["latency_ms"]["p99"]') | $(json "$dir/$run.json" 'r["latency_ms"]["max"]') | $(json "$dir/$run.json" 'r["requests"]["total"]') |"
done
# The machine's own timer jitter: a 10 ms sleep, 500 times, in one thread.
python3 - <<'PY'
import time
d = []
for _ in range(500):
    t = time.perf_counter(); time.sleep(0.01); d.append((time.perf_counter() - t) * 1000)
d.sort()
print(f"| baseline: time.sleep(0.01) x 500, no network | {d[249]:.3f} | {d[494]:.3f} | {d[-1]:.3f} | 500 |")
PY
echo "| wrk -t 2 -c $c -d ${d}s --latency | $(awk '$1=="50%" {print $2}' "$dir/wrk.txt") | $(awk '$1=="99%" {print $2}' "$dir/wrk.txt") | $(awk '/Latency / {print $4; exit}' "$dir/wrk.txt") | $(awk '/requests in/ {print $1}' "$dir/wrk.txt") |"

if [ "$memory_seconds" -gt 0 ]; then
  echo
  echo "## RSS of faultline load -c $c -d $memory_seconds against nginx, sampled every 5 s"
  nginx_start "$dir/nginx2" 1
  "$faultline" load -c "$c" -d "$memory_seconds" --json "http://127.0.0.1:$NGINX_PORT/" > "$dir/mem.json" &
  pid=$!
  samples=()
  while kill -0 "$pid" 2>/dev/null; do
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
    [ -n "$rss" ] && samples+=("$rss")
    sleep 5
  done
  wait "$pid"
  echo "RSS (KiB): ${samples[*]}"
  echo "requests: $(json "$dir/mem.json" 'r["requests"]["total"]'), series entries: $(json "$dir/mem.json" 'len(r["series"])')"
fi
