#!/usr/bin/env bash
# `faultline load` and wrk against the same nginx (started here on a free
# loopback port, with an access log), in the same test: faultline's figures
# must agree with what nginx logged exactly, and with wrk's within a
# generous factor (the test also runs under ASan and on loaded CI machines,
# where faultline may be several times slower, but a unit or counting bug
# is off by far more).
#   1. wrk -t 2 -c 8 -d 5s --latency                 requests/s and p50
#   2. faultline load -c 8 -d 5 --json               the same, within 1/8x..8x;
#      nginx logged between `responses` and `responses + unfinished` lines
#      during it (a request in flight at the deadline may still be logged)
#   3. faultline load -c 8 -n 3000 --json            nginx logged exactly 3000
# Fails (does not skip) when nginx or wrk is missing: scripts/install-deps.sh.
#   FAULTLINE_BIN=build/dev/src/cli/faultline tests/load/nginx_vs_wrk_test.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${FAULTLINE_BIN:?set FAULTLINE_BIN to the faultline program}
duration=${DURATION:-5}
count=${COUNT:-3000}
if ! command -v wrk >/dev/null; then
  echo "wrk is not installed: this test compares faultline load with it." >&2
  echo "Install it (Debian package 'wrk'; scripts/install-deps.sh does)." >&2
  exit 1
fi
# shellcheck source=tests/load/nginx.sh
source "$here/nginx.sh"

dir=$(mktemp -d "${TMPDIR:-/tmp}/faultline-vs-wrk.XXXXXX")
chmod 755 "$dir"  # nginx's workers (another user when started as root) write under it
trap 'nginx_stop; rm -rf "$dir"' EXIT
log=$dir/access.log
touch "$log"
chmod 666 "$log"
NGINX_ACCESS_LOG=$log nginx_start "$dir/nginx" 1
url="http://127.0.0.1:$NGINX_PORT/"

# Lines in the access log once nginx has stopped adding to it (it logs a
# request after answering it): at most 5 s of 0.1 s polls.
settled_lines() {
  local last=-1 now
  for _ in $(seq 1 50); do
    now=$(wc -l < "$log")
    [ "$now" = "$last" ] && break
    last=$now
    sleep 0.1
  done
  echo "$now"
}

wrk -t 2 -c 8 -d "${duration}s" --latency "$url" > "$dir/wrk.txt"
before=$(settled_lines)
"$bin" load -c 8 -d "$duration" --json "$url" > "$dir/timed.json"
after_timed=$(settled_lines)
"$bin" load -c 8 -n "$count" --json "$url" > "$dir/counted.json"
after_counted=$(settled_lines)

python3 - "$dir" "$before" "$after_timed" "$after_counted" "$count" <<'PY'
import json, re, sys
d, before, after_timed, after_counted, count = sys.argv[1], *map(int, sys.argv[2:])
wrk = open(f"{d}/wrk.txt").read()
timed = json.load(open(f"{d}/timed.json"))
counted = json.load(open(f"{d}/counted.json"))
log = open(f"{d}/access.log").read().splitlines()
problems = []
def check(ok, what):
    if not ok:
        problems.append(what)

def ms(text):  # wrk's "118.00us", "1.20ms", "2.00s"
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 1e-3, "ms": 1, "s": 1e3, "m": 6e4}[unit]
wrk_rps = float(re.search(r"Requests/sec:\s+([\d.]+)", wrk).group(1))
wrk_p50 = ms(re.search(r"^\s+50%\s+(\S+)", wrk, re.M).group(1))
wrk_total = int(re.search(r"(\d+) requests in", wrk).group(1))
check(wrk_total > 0 and "Non-2xx" not in wrk and "Socket errors" not in wrk, "wrk ran cleanly")

for name, r in (("timed", timed), ("counted", counted)):
    req = r["requests"]
    check(req["failed"] == 0 and r["errors"]["total"] == 0, f"{name}: no failed requests")
    check(req["responses"] == req["total"] == req["ok"], f"{name}: every request answered ok")
    check(r["responses"]["by_status"] == {"200": req["responses"]},
          f"{name}: status 200 count = responses")
    check(r["latency_ms"]["count"] == req["responses"], f"{name}: latency count = responses")
    series = r["series"]
    check([s["second"] for s in series] == list(range(len(series))), f"{name}: series 0, 1, ...")
    check(sum(s["responses"] for s in series) == req["responses"],
          f"{name}: the series sums to the responses")

req = timed["requests"]
logged = after_timed - before
check(req["responses"] <= logged <= req["responses"] + req["unfinished"],
      f"timed: nginx logged {logged} requests, faultline counted {req['responses']} "
      f"responses and {req['unfinished']} unfinished")
rps, p50 = req["per_second"], timed["latency_ms"]["p50"]
check(wrk_rps / 8 <= rps <= wrk_rps * 8, f"requests/s {rps:.0f} within 1/8x..8x wrk's {wrk_rps:.0f}")
check(wrk_p50 / 8 <= p50 <= wrk_p50 * 8 or abs(p50 - wrk_p50) < 0.05,
      f"p50 {p50} ms within 1/8x..8x wrk's {wrk_p50} ms")
limit = timed["options"]["duration_s"]
check(0.95 * limit <= timed["elapsed_s"] < limit + 5, "timed: elapsed_s about -d")

check(counted["requests"]["responses"] == count and counted["requests"]["unfinished"] == 0,
      f"counted: {count} responses")
check(after_counted - after_timed == count,
      f"counted: nginx logged {after_counted - after_timed} requests, expected {count}")
check(all(line == "200 GET" for line in log), "nginx logged only '200 GET'")

if problems:
    print("faultline load disagrees:", *problems, sep="\n  ", file=sys.stderr)
    print(wrk, file=sys.stderr)
    json.dump(timed, sys.stderr, indent=1)
    sys.exit(1)
print(f"wrk {wrk_rps:.0f} req/s p50 {wrk_p50} ms; faultline {rps:.0f} req/s p50 {p50} ms "
      f"({rps / wrk_rps:.2f}x); nginx logged {logged} of the timed run "
      f"({req['responses']} responses, {req['unfinished']} unfinished) and {count} of the counted one")
PY
