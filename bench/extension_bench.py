"""Measures the runtime API proxy extension on the local emulator; run through
bench/extension_bench.sh. Two functions run the C++ echo example: `direct`
(no extension) and `proxied` (bootstrap-wrapper + `faultline extension`, no
rules armed). Invocations alternate between them on one keep-alive connection
each, so both see the same machine state; the figures are the differences.

With --compare OTHER_BUILD a third function, `proxied_b`, runs OTHER_BUILD's
`faultline extension` in the same emulator, and the three take turns in a
shuffled order each round: a before/after comparison that machine noise
(which on a shared machine moves the figures more than most changes do)
touches equally.

With --relay a further function, `relayed`, runs the echo example behind
faultline_tcp_relay (bench/tcp_relay.cc): a do-nothing byte relay between the
runtime and the emulator, the floor of what any proxy adds on this machine.
It takes its turn in the same shuffled rounds."""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--big", type=int, default=20, help="6 MB invocations per function")
    ap.add_argument("--compare", help="another build whose extension runs as `proxied_b`")
    ap.add_argument("--relay", action="store_true",
                    help="also run `relayed`: echo behind a do-nothing TCP relay")
    args = ap.parse_args()
    build = Path(args.build).resolve()
    faultline = build / "src" / "cli" / "faultline"
    echo = build / "examples" / "functions" / "cpp" / "echo"
    tmp = Path(tempfile.mkdtemp(prefix="faultline-ext-bench."))
    run_dir = tmp / "run"
    run_dir.mkdir()
    config = tmp / "functions.yaml"

    def proxied(name: str, extension: Path) -> str:
        return f"""  - name: {name}
    command: [{json.dumps(str(ROOT / 'layer' / 'bootstrap-wrapper'))}, {json.dumps(str(echo))}]
    extensions: [[{json.dumps(str(extension))}, extension]]
    environment:
      FAULTLINE_PROXY_PORT: "0"
      FAULTLINE_CONTROL_PORT: "0"
      FAULTLINE_RUN_DIR: {json.dumps(str(run_dir))}
      FAULTLINE_WRAPPER_WAIT_MS: "5000"
"""

    other = Path(args.compare).resolve() / "src" / "cli" / "faultline" if args.compare else None
    relay = build / "bench" / "faultline_tcp_relay"
    if args.relay and not relay.exists():
        raise SystemExit(f"{relay}: not built (cmake --build {build} --target faultline_tcp_relay)")
    names = (["direct", "proxied"] + (["proxied_b"] if other else []) +
             (["relayed"] if args.relay else []))
    relayed = f"""  - name: relayed
    command: [{json.dumps(str(relay))}, {json.dumps(str(echo))}]
"""
    config.write_text(f"""functions:
  - name: direct
    command: [{json.dumps(str(echo))}]
{proxied("proxied", faultline)}{proxied("proxied_b", other) if other else ""}"""
                      f"""{relayed if args.relay else ""}""")
    port = free_port()
    log = open(tmp / "serve.log", "wb")
    serve = subprocess.Popen([str(faultline), "lambda", "serve", "--config", str(config),
                              "--port", str(port), "--no-auth"], stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(500):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.01)
        conns = {name: http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                 for name in names}
        rng = random.Random(1)

        def round_of(body: bytes) -> dict[str, float]:
            # Two functions: direct first, as always; three: a shuffled order.
            order = names[:]
            if len(order) > 2:
                rng.shuffle(order)
            return {name: invoke(name, body) for name in order}

        def invoke(name: str, body: bytes) -> float:
            c = conns[name]
            t0 = time.perf_counter()
            c.request("POST", f"/2015-03-31/functions/{name}/invocations", body=body)
            r = c.getresponse()
            data = r.read()
            took = time.perf_counter() - t0
            assert r.status == 200 and data == body, (r.status, data[:200])
            return took * 1e6

        def settle() -> None:
            # Let the extension call event/next before the next invocation, so
            # that it reuses the warm environment (not measured).
            time.sleep(0.002)

        def cpu_ticks() -> dict[str, int]:
            # utime + stime of the emulator and of every extension process.
            out = {"emulator": 0, "extension": 0} | ({"extension_b": 0} if other else {})
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                try:
                    cmd = (Path("/proc") / pid / "cmdline").read_bytes().split(b"\0")
                    stat = (Path("/proc") / pid / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if other and cmd[0] == str(other).encode() and cmd[1:2] == [b"extension"]:
                    out["extension_b"] += int(stat[11]) + int(stat[12])
                    continue
                if cmd[0] != str(faultline).encode() or len(cmd) < 2:
                    continue
                key = {b"lambda": "emulator", b"extension": "extension"}.get(cmd[1])
                if key:
                    out[key] += int(stat[11]) + int(stat[12])
            return out

        small = json.dumps({"hello": "world", "n": 42}).encode()
        for _ in range(50):
            round_of(small)
            settle()
        warm: dict[str, list[float]] = {name: [] for name in names}
        cpu0 = cpu_ticks()
        for _ in range(args.n):
            for name, took in round_of(small).items():
                warm[name].append(took)
            settle()
        cpu1 = cpu_ticks()
        big = json.dumps("x" * (6 * 1024 * 1024 - 100)).encode()
        large: dict[str, list[float]] = {name: [] for name in names}
        for _ in range(args.big):
            for name, took in round_of(big).items():
                large[name].append(took)
            settle()
        cpu2 = cpu_ticks()
        d, p, bd, bp = warm["direct"], warm["proxied"], large["direct"], large["proxied"]
        # The proxy's RSS: every `faultline extension` process under this emulator.
        # With --compare, the other build's (rss_b) too.
        rss, rss_b = [], []
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                cmd = (Path("/proc") / pid / "cmdline").read_bytes().split(b"\0")
                if len(cmd) < 2 or cmd[1] != b"extension":
                    continue
                into = rss if cmd[0] == str(faultline).encode() else (
                    rss_b if other and cmd[0] == str(other).encode() else None)
                if into is not None:
                    status = (Path("/proc") / pid / "status").read_text()
                    into.append(int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)))
            except (OSError, AttributeError):
                pass
        text = (tmp / "serve.log").read_text(errors="replace")
        ready = [float(x) for x in re.findall(r"ready ([0-9.]+) ms after start", text)]
        cold = text.count("faultline extension: proxy on")
        print(f"warm invocations: {args.n} per function (alternating), payload {len(small)} B")
        print(f"  direct  p50 {pct(d, .5):8.1f} us  p99 {pct(d, .99):8.1f} us")
        print(f"  proxied p50 {pct(p, .5):8.1f} us  p99 {pct(p, .99):8.1f} us")
        print(f"  added   p50 {pct(p, .5) - pct(d, .5):8.1f} us  p99 {pct(p, .99) - pct(d, .99):8.1f} us")
        diffs = [b - a for a, b in zip(d, p)]
        print(f"  paired difference p50 {pct(diffs, .5):.1f} us")
        for name in names[2:]:
            b = warm[name]
            diffs_b = [y - x for x, y in zip(d, b)]
            what = f" ({args.compare})" if name == "proxied_b" else ""
            print(f"  {name}{what} p50 {pct(b, .5):8.1f} us  p99 {pct(b, .99):8.1f} us")
            print(f"  {name} added p50 {pct(b, .5) - pct(d, .5):8.1f} us  "
                  f"p99 {pct(b, .99) - pct(d, .99):8.1f} us  paired p50 {pct(diffs_b, .5):.1f} us")
        if args.big:
            print(f"6 MB pass-through: direct p50 {statistics.median(bd) / 1000:.2f} ms, "
                  f"proxied p50 {statistics.median(bp) / 1000:.2f} ms, "
                  f"added {(statistics.median(bp) - statistics.median(bd)) / 1000:.2f} ms")
            for name in names[2:]:
                added_b = statistics.median(large[name]) - statistics.median(bd)
                print(f"  {name} added {added_b / 1000:.2f} ms")
        tick_ms = 1000 / os.sysconf("SC_CLK_TCK")

        def per_invocation(a, b, n):
            return ", ".join(f"{k} {(b[k] - a[k]) * tick_ms / max(n, 1):.2f} ms" for k in a)

        print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(f"CPU per warm pair (direct + proxied): {per_invocation(cpu0, cpu1, args.n)}")
        print(f"CPU per 6 MB pair (direct + proxied): {per_invocation(cpu1, cpu2, args.big)}")
        print(f"proxy RSS: {', '.join(f'{k / 1024:.1f} MB' for k in rss) or 'not found'}")
        if other:
            print(f"proxy RSS of proxied_b: {', '.join(f'{k / 1024:.1f} MB' for k in rss_b) or 'not found'}")
        print(f"registration to ready (process start to registered): "
              f"{', '.join(f'{r:.2f} ms' for r in ready) or 'not found'}")
        both = " and `proxied_b`" if other else ""
        print(f"environments of `proxied`{both} (extension starts): {cold}")
    finally:
        serve.send_signal(signal.SIGTERM)
        try:
            serve.wait(timeout=10)
        except subprocess.TimeoutExpired:
            serve.kill()
            serve.wait(timeout=10)
        subprocess.run(["rm", "-rf", str(tmp)], check=False)


if __name__ == "__main__":
    main()
