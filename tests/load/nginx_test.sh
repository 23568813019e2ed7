#!/usr/bin/env bash
# `faultline load -c 8 -d 2` against Debian's nginx on a free loopback port
# (started here, in the foreground, everything under a temp dir), then
# checks that the --json result is consistent. Fails clearly when nginx is
# not installed (scripts/install-deps.sh installs it).
#   FAULTLINE_BIN=build/dev/src/cli/faultline tests/load/nginx_test.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${FAULTLINE_BIN:?set FAULTLINE_BIN to the faultline program}
# shellcheck source=tests/load/nginx.sh
source "$here/nginx.sh"

dir=$(mktemp -d "${TMPDIR:-/tmp}/faultline-nginx.XXXXXX")
trap 'nginx_stop; rm -rf "$dir"' EXIT
nginx_start "$dir" 1

"$bin" load -c 8 -d 2 --json "http://127.0.0.1:$NGINX_PORT/" > "$dir/result.json"
python3 - "$dir/result.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
problems = []
def check(ok, what):
    if not ok:
        problems.append(what)
check(r["version"] == 1, "version is 1")
check(r["options"]["connections"] == 8, "options.connections is 8")
check(r["options"]["duration_s"] == 2, "options.duration_s is 2")
req = r["requests"]
check(req["total"] > 0, "requests.total > 0")
check(req["failed"] == 0 and r["errors"]["total"] == 0, "no errors")
check(req["ok"] == req["total"] == req["responses"], "every request answered ok")
check(r["responses"]["by_status"].get("200") == req["total"], "every answer is a 200")
check(r["error_rate"] == 0, "error_rate is 0")
check(1.9 <= r["elapsed_s"] < 10, "elapsed_s about 2")
check(abs(req["per_second"] - req["total"] / r["elapsed_s"]) < 1e-6 * req["per_second"] + 1e-9,
      "per_second = total / elapsed_s")
lat = r["latency_ms"]
check(lat["count"] == req["responses"], "latency_ms.count = responses")
keys = ["min", "p50", "p75", "p90", "p99", "p99_9", "p99_99", "max"]
check(all(lat[a] <= lat[b] for a, b in zip(keys, keys[1:])), "percentiles ordered")
check(lat["min"] <= lat["mean"] <= lat["max"], "mean within [min, max]")
check(r["transfer"]["bytes_read"] >= 612 * req["responses"], "bytes_read covers the bodies")
check(r["coordinated_omission_corrected"] is False, "closed loop is not corrected")
series = r["series"]
check([s["second"] for s in series] == list(range(len(series))), "series seconds 0, 1, ...")
check(sum(s["responses"] for s in series) == req["responses"], "series sums to the responses")
if problems:
    print("inconsistent result:", "; ".join(problems), file=sys.stderr)
    json.dump(r, sys.stderr, indent=1)
    sys.exit(1)
print(f"nginx: {req['total']} requests in {r['elapsed_s']:.2f}s, {req['per_second']:.0f} req/s, "
      f"p50 {lat['p50']} ms, p99 {lat['p99']} ms: consistent")
PY
