#!/usr/bin/env bash
# `faultline report` end to end:
#   1. exit codes: a missing or invalid journal 2 (naming the file), an
#      unwritable -o 1, a good journal 0 and a 0644 page;
#   2. each page opened in headless Chromium (Debian's `chromium`, which
#      scripts/install-deps.sh installs): the screenshot is not blank (many
#      distinct colours), the console shows nothing (the page runs no
#      script, so any console line is an error, a blocked fetch or a
#      Content-Security-Policy violation: an injection), and the DOM of a
#      journal made of "</script><img onerror=...>" strings has no element
#      from them.
# Journals: latency-journal.json beside this script (`chaos run
# --hypothesis-strategy=continuously` of an experiment whose probes run
# `faultline load --json` against a local server that a method action
# slows down), and ones this script writes.
# Skips (exit 0, saying so) when chromium is not installed.
#   FAULTLINE_BIN=build/dev/src/cli/faultline tests/report/chromium_test.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${FAULTLINE_BIN:?set FAULTLINE_BIN to the faultline program}
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")  # the script changes directory
dir=$(mktemp -d "${TMPDIR:-/tmp}/faultline-report.XXXXXX")
keep=0
trap '[ "$keep" = 1 ] && echo "kept $dir for a look" >&2 || rm -rf "$dir"' EXIT
fail() {
  keep=1
  echo "FAIL: $*" >&2
  exit 1
}

# expect CODE STDERR-REGEX ARGS...: runs `faultline report ARGS` (regex "":
# nothing on stderr).
expect() {
  local code=$1 pattern=$2 got=0
  shift 2
  "$bin" report "$@" > "$dir/out" 2> "$dir/err" || got=$?
  [ "$got" = "$code" ] || fail "report $*: exit $got, expected $code: $(cat "$dir/err")"
  if [ -z "$pattern" ]; then
    [ ! -s "$dir/err" ] || fail "report $*: stderr is not empty: $(cat "$dir/err")"
  else
    grep -Eq -- "$pattern" "$dir/err" || fail "report $*: stderr does not match '$pattern': $(cat "$dir/err")"
  fi
}

# --- 1. exit codes ---------------------------------------------------------
expect 2 "no-such-journal\.json: cannot read" "$dir/no-such-journal.json" -o "$dir/x.html"
printf '{"run": [' > "$dir/broken.json"
expect 2 "broken\.json: not a journal" "$dir/broken.json" -o "$dir/x.html"
printf '{"title": "an experiment", "method": []}' > "$dir/experiment.json"
expect 2 "experiment\.json: not a journal" "$dir/experiment.json" -o "$dir/x.html"
expect 2 "JOURNAL is required" -o "$dir/x.html"
expect 1 "no/such/dir/r\.html: cannot write" "$here/latency-journal.json" -o "$dir/no/such/dir/r.html"
expect 0 "" "$here/latency-journal.json" -o "$dir/latency.html"
[ "$(stat -c %a "$dir/latency.html")" = 644 ] || fail "the page is not mode 0644"
grep -q "wrote $dir/latency.html" "$dir/out" || fail "no 'wrote' line: $(cat "$dir/out")"
(cd "$dir" && "$bin" report "$here/latency-journal.json" > /dev/null) || fail "no default -o"
[ -s "$dir/report.html" ] || fail "the default output is not report.html"

# A journal whose every string is an injection attempt, and one of an
# aborted run with nothing in it.
python3 - "$dir" <<'EOF'
import json, sys
evil = "</script><img src=x onerror=alert(1)><script>alert(2)</script>\"'&"
def entry(kind, name, start, end, output, **more):
    return dict(activity={"type": kind, "name": name,
                          "provider": {"type": "process", "path": evil, "arguments": evil}},
                output=output, start=f"2026-12-02T16:00:0{start}.000000+00:00", status="succeeded",
                end=f"2026-12-02T16:00:0{end}.500000+00:00", duration=end - start + 0.5, **more)
journal = {
    "chaoslib-version": evil, "platform": evil, "node": evil,
    "experiment": {"title": evil, "description": evil, "tags": [evil],
                   "steady-state-hypothesis": {"title": evil}, "method": [], "rollbacks": [{}]},
    "start": "2026-12-02T16:00:00.000000+00:00", "status": "completed", "deviated": True,
    "steady_states": {"before": {"steady_state_met": True, "probes": [
                          entry("probe", evil, 0, 0, {"status": 0, "stdout": evil, evil: 1},
                                tolerance_met=True)]},
                      "after": {"steady_state_met": False, "probes": [
                          entry("probe", evil, 4, 4, {"status": 1, "stdout": evil, evil: 2},
                                tolerance_met=False)]},
                      "during": []},
    "run": [entry("action", evil, 1, 2, None, exception=[evil + "\n"])],
    "rollbacks": [entry("action", evil, 5, 5, {"status": 0, "stdout": evil, "stderr": evil})],
    "end": "2026-12-02T16:00:06.000000+00:00", "duration": 6.0,
    "faultline": {"seed": evil, "reason": evil},
}
journal["run"][0]["status"] = "failed"
json.dump(journal, open(f"{sys.argv[1]}/evil.json", "w"))
json.dump({"status": "aborted", "steady_states": None, "run": [], "rollbacks": [],
           "faultline": {"seed": 7, "reason": "configuration: no variable ZONE"}},
          open(f"{sys.argv[1]}/aborted.json", "w"))
EOF
for name in evil aborted; do
  expect 0 "" "$dir/$name.json" -o "$dir/$name.html"
done
echo "exit codes: ok"

# --- 2. in the browser -----------------------------------------------------
if ! command -v chromium > /dev/null; then
  echo "SKIP: chromium is not installed (scripts/install-deps.sh installs it); exit codes checked"
  exit 0
fi

# chrome FILE.html ARGS...: headless Chromium on the page, its stderr in FILE.log.
chrome() {
  local page=$1 profile
  shift
  profile=$(mktemp -d "$dir/profile.XXXXXX")
  timeout 90 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --enable-logging=stderr --v=0 "$@" "file://$page" \
    2> "${page%.html}.log"
}

# Distinct colours of a PNG (8-bit RGB or RGBA, as Chromium writes it),
# sampled every 4th pixel of every 4th row.
colours() {
  python3 - "$1" <<'EOF'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat = 8, bytearray()
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    if kind == b"IHDR":
        width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", data[pos + 8:pos + 21])
    elif kind == b"IDAT":
        idat += data[pos + 8:pos + 8 + n]
    pos += 12 + n
assert depth == 8 and ctype in (2, 6) and not interlace, (depth, ctype, interlace)
bpp = 3 if ctype == 2 else 4
raw, stride = zlib.decompress(bytes(idat)), width * bpp
prev, seen = bytearray(stride), set()
for y in range(height):
    f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride) if f else ():
        a = line[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        if f == 1:
            pred = a
        elif f == 2:
            pred = b
        elif f == 3:
            pred = (a + b) >> 1
        else:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
        line[i] = (line[i] + pred) & 255
    if y % 4 == 0:
        seen.update(bytes(line[x:x + 3]) for x in range(0, stride, bpp * 4))
    prev = line
print(len(seen))
EOF
}

# The blank check itself: an empty page has (next to) one colour.
printf '<!DOCTYPE html><title>blank</title>' > "$dir/blank.html"
chrome "$dir/blank.html" --screenshot="$dir/blank.png" --window-size=1280,2000
[ "$(colours "$dir/blank.png")" -le 3 ] || fail "the blank page has colours: the check is broken"

for name in latency evil aborted; do
  page="$dir/$name.html"
  chrome "$page" --screenshot="$dir/$name.png" --window-size=1280,2000
  [ -s "$dir/$name.png" ] || fail "$name: no screenshot: $(tail -5 "$dir/$name.log")"
  n=$(colours "$dir/$name.png")
  [ "$n" -ge 40 ] || fail "$name: the screenshot looks blank ($n colours): $dir/$name.png"
  chrome "$page" --dump-dom > "$dir/$name.dom"
  grep -q '<h1>' "$dir/$name.dom" || fail "$name: the DOM has no heading"
  if grep -E ':CONSOLE|Uncaught' "$dir/$name.log" "${page%.html}.log" > "$dir/console"; then
    fail "$name: the console is not empty: $(cat "$dir/console")"
  fi
  echo "$name: $n colours, no console message"
done

# Nothing of the journal became markup: no element but the page's own.
dom="$dir/evil.dom"
if grep -Eq '<img|<script' "$dom"; then fail "evil: the DOM has an element from the journal"; fi
# Each string is one whole text node (as the DOM serialises text): the
# heading is exactly the title, and the string is whole everywhere else.
text="&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;alert(2)&lt;/script&gt;\"'&amp;"
grep -qF "<h1>$text</h1>" "$dom" || fail "evil: the heading is not the title as text"
n=$(grep -oF "$text" "$dom" | wc -l)
[ "$n" -ge 40 ] || fail "evil: the journal's strings are shown whole $n times, expected 40 or more"
grep -q 'DEVIATED' "$dir/latency.dom" || fail "latency: no verdict"
grep -q 'id="load"' "$dir/latency.dom" || fail "latency: no load section"
grep -q 'ABORTED' "$dir/aborted.dom" || fail "aborted: no verdict"
echo "1 passed, 0 failed"
