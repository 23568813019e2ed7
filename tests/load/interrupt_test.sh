#!/usr/bin/env bash
# `faultline load -d 30` against Debian's nginx (tests/load/nginx.sh), ended
# by a signal once requests are flowing: it must exit within a few seconds,
# with 130 (SIGINT) or 143 (SIGTERM), printing what it measured so far,
# marked interrupted: the summary, or with --json a valid document.
#   1. SIGINT, summary      2. SIGINT, --json      3. SIGTERM, --json
# Fails clearly when nginx is not installed (scripts/install-deps.sh).
#   FAULTLINE_BIN=build/dev/src/cli/faultline tests/load/interrupt_test.sh
set -euo pipefail
# Job control: without it bash starts background commands with SIGINT
# ignored, and an ignored signal never reaches the program.
set -m
here=$(cd "$(dirname "$0")" && pwd)
bin=${FAULTLINE_BIN:?set FAULTLINE_BIN to the faultline program}
# shellcheck source=tests/load/nginx.sh
source "$here/nginx.sh"

dir=$(mktemp -d "${TMPDIR:-/tmp}/faultline-interrupt.XXXXXX")
chmod 755 "$dir"  # nginx's workers (another user when started as root) write under it
trap 'nginx_stop; rm -rf "$dir"' EXIT
NGINX_ACCESS_LOG="$dir/access.log" nginx_start "$dir" 1
url="http://127.0.0.1:$NGINX_PORT/"

# Runs `faultline load ARGS -d 30 URL`, sends SIG once nginx has logged
# requests, and checks how and how fast it ends; its output is in $dir/out.
interrupt() {
  local sig=$1 expected=$2
  shift 2
  : > "$dir/access.log"
  "$bin" load -c 4 -d 30 "$@" "$url" > "$dir/out" 2> "$dir/err" &
  local pid=$!
  local i
  for i in $(seq 1 200); do  # up to 10 s for requests to flow
    [ -s "$dir/access.log" ] && break
    sleep 0.05
  done
  if [ ! -s "$dir/access.log" ]; then
    echo "no request reached nginx within 10 s" >&2
    kill -KILL "$pid"
    exit 1
  fi
  sleep 0.5  # let it measure a little more than the first requests
  kill "-$sig" "$pid"
  local started=$SECONDS
  for i in $(seq 1 100); do  # up to 5 s to stop
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "faultline load $* was still running 5 s after SIG$sig" >&2
    kill -KILL "$pid"
    exit 1
  fi
  local rc=0
  wait "$pid" || rc=$?
  if [ "$rc" -ne "$expected" ]; then
    echo "faultline load $* after SIG$sig: exit code $rc, expected $expected" >&2
    cat "$dir/out" "$dir/err" >&2
    exit 1
  fi
  echo "SIG$sig: exit $rc within $((SECONDS - started)) s"
}

interrupt INT 130
python3 - "$dir/out" <<'PY'
import re, sys
out = open(sys.argv[1]).read()
m = re.search(r"Requests:\s+(\d+) in ([\d.]+)s", out)
problems = []
if "Interrupted by SIGINT" not in out: problems.append("no 'Interrupted by SIGINT' line")
if not m or int(m.group(1)) == 0: problems.append("no requests counted")
elif float(m.group(2)) >= 30: problems.append("it ran the whole 30 s")
if not re.search(r"200: [1-9]", out): problems.append("no 200 responses")
if problems:
    print("summary after SIGINT:", "; ".join(problems), file=sys.stderr)
    print(out, file=sys.stderr)
    sys.exit(1)
print("summary:", m.group(0))
PY

check_json() {
  python3 - "$dir/out" "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
sig = sys.argv[2]
req = r["requests"]
problems = []
if r.get("interrupted") != sig: problems.append(f"interrupted is {r.get('interrupted')!r}, not {sig}")
if req["total"] <= 0 or req["responses"] <= 0: problems.append("no requests counted")
if r["responses"]["by_status"].get("200", 0) != req["responses"]: problems.append("not all 200")
if not 0 < r["elapsed_s"] < 30: problems.append(f"elapsed_s {r['elapsed_s']}")
if sum(s["responses"] for s in r["series"]) != req["responses"]:
    problems.append("the series does not add up to the responses")
if problems:
    print(f"--json after {sig}:", "; ".join(problems), file=sys.stderr)
    json.dump(r, sys.stderr, indent=1)
    sys.exit(1)
print(f"--json after {sig}: {req['total']} requests in {r['elapsed_s']:.2f}s")
PY
}

interrupt INT 130 --json
check_json SIGINT
interrupt TERM 143 --json
check_json SIGTERM
