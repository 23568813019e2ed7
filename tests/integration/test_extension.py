"""The runtime API proxy extension (`faultline extension`) in the emulator,
deployed as the layer `faultline layer build` writes: an unmodified Python
function (awslambdaric) started through the layer's faultline-wrapper
(AWS_LAMBDA_EXEC_WRAPPER), an unmodified Node function (aws-lambda-ric) the
same way, and the C++ echo function through bootstrap-wrapper (the provided.*
path).

Issue 4's "Done when": 300 ms of latency moves p50 by 300 ms +- 10%; an error
rule with preventExecution (phase: before) fails invocations with our
errorType and the handler does not run; clearing the rule through the control
endpoint restores normal answers on the next invocation."""

from __future__ import annotations

import base64
import json
import random
import statistics
import time
from pathlib import Path

import pytest

from extension_it import (
    LAYER_NAMES,
    Control,
    build_layer,
    invoke,
    is_executable,
    new_control_port,
    settle,
    with_layer,
)
from lambda_it import faultline_bin, python_function

HANDLER = '''
import os, pathlib

def handler(event, context):
    # The side effect the tests look for: a file per request that ran.
    pathlib.Path(os.environ["MARKER_DIR"], context.aws_request_id).write_text("ran")
    print("side-effect handler ran", flush=True)
    return {"ok": True, "event": event}
'''

def echo_binary() -> Path:
    # The echo built next to the faultline binary under test.
    build_dir = faultline_bin().resolve().parents[2]
    return build_dir / "examples" / "functions" / "cpp" / "echo"


def test_layer_build_writes_the_layer_layout(tmp_path):
    opt = build_layer(tmp_path)
    import zipfile

    with zipfile.ZipFile(tmp_path / "faultline-layer.zip") as z:
        assert z.testzip() is None
        names = [i.filename for i in z.infolist()]
        assert names == LAYER_NAMES
        for info in z.infolist():
            assert (info.external_attr >> 16) & 0o111, info.filename  # executable
    assert (opt / "bin" / "faultline").stat().st_size == faultline_bin().stat().st_size
    assert is_executable(opt / "extensions" / "faultline")
    assert "faultline\" extension" in (opt / "extensions" / "faultline").read_text() or \
        "bin/faultline" in (opt / "extensions" / "faultline").read_text()


@pytest.fixture
def py_env(tmp_path, emulator, python_ric):
    """A Python function through the layer; returns (emulator, control, marker dir)."""
    opt = build_layer(tmp_path / "layer")
    app = tmp_path / "app"
    app.mkdir()
    (app / "side.py").write_text(HANDLER)
    markers = tmp_path / "markers"
    markers.mkdir()
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    port = new_control_port()
    fn = python_function(python_ric, "side", "side.handler", working_dir=str(app),
                         runtime="python3.12",
                         environment={"MARKER_DIR": str(markers)})
    emu = emulator([with_layer(fn, opt, run_dir, port)])
    first = invoke(emu, "side", {"warm": 1})  # cold start: the extension is up after it
    assert first.status == 200, (first.body, emu.log_tail())
    return emu, Control(port), markers


def timed(emu, name: str, n: int, payload=None) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        r = emu.invoke_raw(name, payload or {"k": "v"})
        out.append((time.perf_counter() - t0) * 1000)
        assert r.status == 200, r.body
        settle(emu, r.headers["x-amzn-requestid"])
    return out


def test_latency_300ms_moves_p50_by_300ms(py_env):
    emu, control, _ = py_env
    base = statistics.median(timed(emu, "side", 15))
    control.put_rules("faults: [{name: slow, target: side, action: latency, latency: 300}]")
    slow = statistics.median(timed(emu, "side", 15))
    added = slow - base
    assert 270 <= added <= 330, f"p50 {base:.1f} ms -> {slow:.1f} ms (+{added:.1f} ms)"
    assert control.counters()["actions"]["latency"] == 15


def test_prevent_execution_fails_without_running_the_handler_and_clear_restores(py_env):
    emu, control, markers = py_env
    control.put_rules(
        "faults:\n"
        "  - {name: down, target: side, action: error, phase: before,\n"
        "     error: {type: Function.InjectedFault, message: \"injected by faultline\"}}\n")
    for _ in range(3):
        r = invoke(emu, "side", {"k": 1}, headers={"X-Amz-Log-Type": "Tail"})
        assert r.status == 200
        assert r.headers.get("x-amz-function-error") == "Unhandled"
        err = r.json()
        assert err["errorType"] == "Function.InjectedFault"
        assert err["errorMessage"] == "injected by faultline"
        request_id = r.headers["x-amzn-requestid"]
        assert not (markers / request_id).exists(), "the handler ran"
        tail = base64.b64decode(r.headers.get("x-amz-log-result", "")).decode(errors="replace")
        assert "side-effect handler ran" not in tail
    control.clear()
    r = invoke(emu, "side", {"k": 2})  # the very next invocation
    assert r.status == 200 and "x-amz-function-error" not in r.headers, r.body
    assert r.json() == {"ok": True, "event": {"k": 2}}
    assert (markers / r.headers["x-amzn-requestid"]).exists()


def test_error_after_replaces_the_result_but_the_handler_ran(py_env):
    emu, control, markers = py_env
    control.put_rules("faults: [{name: late, target: side, action: error, phase: after}]")
    r = invoke(emu, "side", {"k": 1})
    assert r.headers.get("x-amz-function-error") == "Unhandled"
    assert r.json()["errorType"] == "Function.InjectedFault"
    assert (markers / r.headers["x-amzn-requestid"]).exists()


def test_bad_rules_are_refused_with_a_position_and_nothing_applied(py_env):
    emu, control, _ = py_env
    status, body = control.call("PUT", "/rules", "faults:\n  - {name: x, action: latncy}\n")
    assert status == 400
    assert "PUT /rules:2:" in json.loads(body)["message"]
    assert invoke(emu, "side", {"k": 1}).json() == {"ok": True, "event": {"k": 1}}


def random_json(rng: random.Random, depth: int = 0):
    kind = rng.randrange(7 if depth < 3 else 4)
    if kind == 0:
        return rng.randrange(-10**12, 10**12)
    if kind == 1:
        return "".join(rng.choice("abc xyz\"\\/\u00e9\u4e2d\U0001F600\n\t") for _ in range(rng.randrange(40)))
    if kind == 2:
        return rng.choice([True, False, None])
    if kind == 3:
        return rng.random() * 1000
    if kind == 4:
        return [random_json(rng, depth + 1) for _ in range(rng.randrange(5))]
    return {f"k{i}": random_json(rng, depth + 1) for i in range(rng.randrange(5))}


def test_transparency_randomized_payloads_direct_vs_proxied(tmp_path, emulator):
    echo = echo_binary()
    if not echo.exists():
        pytest.skip(f"C++ echo not built at {echo}")
    opt = build_layer(tmp_path / "layer")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    direct = {"name": "direct", "command": [str(echo)], "timeout": 10}
    proxied = with_layer(
        {"name": "proxied", "command": [str(opt / "bootstrap-wrapper"), str(echo)], "timeout": 10},
        opt, run_dir, new_control_port())
    del proxied["exec_wrapper"]  # provided.*: the bootstrap wrapper does it
    emu = emulator([direct, proxied])
    rng = random.Random(20261125)
    payloads = [json.dumps(random_json(rng)).encode() for _ in range(300)]
    payloads.append(json.dumps("x" * (6 * 1024 * 1024 - 100)).encode())  # the largest
    ignore = {"x-amzn-requestid", "date", "x-amzn-trace-id"}
    for p in payloads:
        a = invoke(emu, "direct", p)
        b = invoke(emu, "proxied", p)
        assert (a.status, a.body) == (b.status, b.body)
        assert a.body == p  # what the runtime saw: echo returns its event
        ha = {k: v for k, v in a.headers.items() if k not in ignore}
        hb = {k: v for k, v in b.headers.items() if k not in ignore}
        assert ha == hb
    log = (Path(emu.log_path)).read_text(errors="replace")
    assert "faultline extension: proxy on 127.0.0.1:" in log
    assert "starting the runtime unproxied" not in log


def test_faults_commands_drive_the_control_endpoint(py_env, tmp_path):
    import subprocess

    emu, control, markers = py_env
    rules = tmp_path / "faults.yaml"
    rules.write_text("faults: [{name: cli-down, target: side, action: error}]\n")
    endpoint = f"http://127.0.0.1:{control.port}"
    run = lambda *a: subprocess.run([str(faultline_bin().resolve()), "faults", *a,
                                     "--endpoint", endpoint],
                                    capture_output=True, text=True, timeout=30)
    r = run("set", str(rules))
    assert r.returncode == 0, r.stderr
    assert "cli-down" in run("list").stdout
    assert invoke(emu, "side", {"k": 1}).headers.get("x-amz-function-error") == "Unhandled"
    assert run("clear").returncode == 0
    assert invoke(emu, "side", {"k": 1}).json() == {"ok": True, "event": {"k": 1}}


def test_node_function_through_the_wrapper_gets_an_error_before_the_handler(
        tmp_path, emulator, node_ric):
    from lambda_it import node_function

    opt = build_layer(tmp_path / "layer")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    port = new_control_port()
    fn = with_layer(node_function(node_ric, "nodefn", "app.handler", runtime="nodejs20.x"),
                    opt, run_dir, port)
    emu = emulator([fn])
    first = invoke(emu, "nodefn", {"a": 1})
    assert first.status == 200 and "x-amz-function-error" not in first.headers, first.body
    control = Control(port)
    control.put_rules("faults: [{name: node-down, target: nodefn, action: error,"
                      " error: {type: Function.NodeDown, message: m}}]")
    r = invoke(emu, "nodefn", {"a": 2})
    assert r.headers.get("x-amz-function-error") == "Unhandled"
    assert r.json()["errorType"] == "Function.NodeDown"
    control.clear()
    r = invoke(emu, "nodefn", {"a": 3})
    assert "x-amz-function-error" not in r.headers, r.body
