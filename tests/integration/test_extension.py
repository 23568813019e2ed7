"""The runtime API proxy extension (`faultline extension`) in the emulator,
deployed as the layer `faultline layer build` writes: an unmodified Python
function (awslambdaric) started through the layer's faultline-wrapper
(AWS_LAMBDA_EXEC_WRAPPER), an unmodified Node function (aws-lambda-ric) the
same way, and the C++ echo function through bootstrap-wrapper (the provided.*
path).

Issue 4's "Done when": 300 ms of latency moves p50 by 300 ms +- 10%; an error
rule with preventExecution (phase: before) fails invocations with our
errorType and the handler does not run; clearing the rule through the control
endpoint restores normal answers on the next invocation.

Then every fault kind on both Python and Node, with unmodified handlers
(parametrized over the runtimes, one emulator per runtime for the module):
latency, status, body and error before and after the handler, timeout (the
platform's Sandbox.Timedout), the watched rule file hot-reloaded, a rule
matching on the event's path, and malformed rules failing open."""

from __future__ import annotations

import base64
import json
import os
import random
import statistics
import time
from pathlib import Path

import pytest

from extension_it import (
    LAYER_NAMES,
    Control,
    token_file,
    build_layer,
    invoke,
    is_executable,
    new_control_port,
    settle,
    wait_until,
    with_layer,
    write_atomically,
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


@pytest.fixture(scope="session")
def layer(tmp_path_factory) -> Path:
    """The layer, built once (zipping the ASan binary takes most of a minute)
    and unpacked: its opt directory, next to faultline-layer.zip."""
    return build_layer(tmp_path_factory.mktemp("layer"))


def test_layer_build_writes_the_layer_layout(layer):
    opt = layer
    import zipfile

    with zipfile.ZipFile(opt.parent / "faultline-layer.zip") as z:
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
def py_env(tmp_path, emulator, python_ric, layer):
    """A Python function through the layer; returns (emulator, control, marker dir)."""
    opt = layer
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
    return emu, Control(port, run_dir), markers


def mapped_libraries(pid: int) -> str:
    return (Path("/proc") / str(pid) / "maps").read_text()


def test_only_processes_that_sign_load_openssl(py_env):
    """libcrypto is loaded when a digest is first needed (1.45 MB of every
    faultline process's RSS when linked): the extension, which never signs,
    does not map it; the emulator, which has checked the signed invocation,
    does."""
    emu, _, _ = py_env
    extensions = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            argv = (Path("/proc") / pid / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if len(argv) > 1 and argv[0].endswith(b"/faultline") and argv[1] == b"extension":
            extensions.append(int(pid))
    assert extensions, "no faultline extension process found"
    for pid in extensions:
        assert "libcrypto" not in mapped_libraries(pid), f"extension {pid} maps libcrypto"
    assert "libcrypto" in mapped_libraries(emu.process.pid)


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
    injected = control.counters()["actions"]["latency"]
    plain, slowed = [], []
    for _ in range(15):  # interleaved, so a busy machine weighs on both alike
        control.clear()
        plain += timed(emu, "side", 1)
        control.put_rules("faults: [{name: slow, target: side, action: latency, latency: 300}]")
        slowed += timed(emu, "side", 1)
    control.clear()
    base, slow = statistics.median(plain), statistics.median(slowed)
    added = slow - base
    assert 270 <= added <= 330, f"p50 {base:.1f} ms -> {slow:.1f} ms (+{added:.1f} ms)"
    assert control.counters()["actions"]["latency"] - injected == 15


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


def test_transparency_randomized_payloads_direct_vs_proxied(tmp_path, emulator, layer):
    echo = echo_binary()
    if not echo.exists():
        pytest.skip(f"C++ echo not built at {echo}")
    opt = layer
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
    # The token comes from the token file in the extension's run directory.
    env = dict(os.environ, FAULTLINE_RUN_DIR=str(control.run_dir))
    env.pop("FAULTLINE_CONTROL_TOKEN", None)
    run = lambda *a: subprocess.run([str(faultline_bin().resolve()), "faults", *a,
                                     "--endpoint", endpoint],
                                    capture_output=True, text=True, timeout=30, env=env)
    r = run("set", str(rules))
    assert r.returncode == 0, r.stderr
    assert "cli-down" in run("list").stdout
    assert invoke(emu, "side", {"k": 1}).headers.get("x-amz-function-error") == "Unhandled"
    assert run("clear").returncode == 0
    assert invoke(emu, "side", {"k": 1}).json() == {"ok": True, "event": {"k": 1}}


# --- the control endpoint's token, the files, ttls across cold starts -----------

def faults_cli(*args, env=None, user=None):
    """`faultline faults ARGS` (as `user`, through setpriv, when given)."""
    import subprocess

    cmd = [str(faultline_bin().resolve()), "faults", *args]
    if user is not None:
        cmd = as_user(user) + cmd
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)


def client_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("FAULTLINE_RUN_DIR", "FAULTLINE_CONTROL_TOKEN")}
    env.update(extra)
    return env


def as_user(user: str) -> list[str]:
    import shutil

    if os.geteuid() != 0:
        pytest.skip("needs root to run a client as another user")
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is not installed")
    group = "nogroup" if user == "nobody" else user
    return ["setpriv", f"--reuid={user}", f"--regid={group}", "--clear-groups", "--"]


def test_control_endpoint_refuses_requests_without_the_token(py_env):
    emu, control, markers = py_env
    control.put_rules("faults: [{name: slow-ish, target: side, action: latency, latency: 1}]")
    before = control.rules()
    for token in (None, "0" * 64, (control.token() or "")[:-1]):
        for method, body in (("GET", None), ("PUT", "faults: [{name: evil, target: side,"
                                                      " action: error}]"), ("DELETE", None)):
            status, answer = control.call(method, "/rules", body, token=token)
            assert status == 401, (method, token, answer)
            message = json.loads(answer)["message"]
            assert "needs its token" in message and "faultline-token-" in message, message
        assert control.call("GET", "/counters", token=token)[0] == 401
    assert control.rules() == before  # nothing changed
    r = invoke(emu, "side", {"k": 1})
    assert r.json() == {"ok": True, "event": {"k": 1}}, r.body  # no error rule got in

    # `faults set` finds the token next to the control port file, and works.
    rules = control.run_dir.parent / "cli-faults.yaml"
    rules.write_text("faults: [{name: cli-down, target: side, action: error}]\n")
    endpoint = f"http://127.0.0.1:{control.port}"
    env = client_env(FAULTLINE_RUN_DIR=str(control.run_dir))
    r = faults_cli("set", str(rules), "--endpoint", endpoint, env=env)
    assert r.returncode == 0, r.stderr
    assert invoke(emu, "side", {"k": 2}).headers.get("x-amz-function-error") == "Unhandled"
    # Or --token / FAULTLINE_CONTROL_TOKEN, from anywhere.
    r = faults_cli("list", "--endpoint", endpoint, env=client_env(
        FAULTLINE_CONTROL_TOKEN=control.token(), FAULTLINE_RUN_DIR="/nonexistent"))
    assert r.returncode == 0 and "cli-down" in r.stdout, r.stderr
    # With no token to be found: 401, and it says how to give one.
    r = faults_cli("clear", "--endpoint", endpoint, env=client_env(FAULTLINE_RUN_DIR="/nonexistent"))
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "answered 401" in r.stderr and "no token sent" in r.stderr, r.stderr
    assert "--token" in r.stderr and "FAULTLINE_CONTROL_TOKEN" in r.stderr, r.stderr
    assert "cli-down" in control.rules()
    r = faults_cli("clear", "--endpoint", endpoint, "--token", control.token(), env=client_env())
    assert r.returncode == 0, r.stderr
    assert invoke(emu, "side", {"k": 3}).json() == {"ok": True, "event": {"k": 3}}


def test_a_second_user_cannot_read_the_token(tmp_path, emulator, python_ric, layer):
    """The token file is 0600: user nobody, even in a run directory it may
    look into, can read neither it nor the rules, and changes nothing."""
    import subprocess
    import tempfile

    setpriv = as_user("nobody")
    run_dir = Path(tempfile.mkdtemp(prefix="faultline-run-", dir="/tmp"))
    try:
        os.chmod(run_dir, 0o755)  # others may look in, not write: the extension accepts it
        app = tmp_path / "app"
        app.mkdir()
        (app / "side.py").write_text(HANDLER)
        markers = tmp_path / "markers"
        markers.mkdir()
        port = new_control_port()
        fn = python_function(python_ric, "side", "side.handler", working_dir=str(app),
                             runtime="python3.12", environment={"MARKER_DIR": str(markers)})
        emu = emulator([with_layer(fn, layer, run_dir, port)])
        assert invoke(emu, "side", {"warm": 1}).status == 200
        control = Control(port, run_dir)
        control.put_rules("faults: [{name: mine, target: side, action: latency, latency: 1}]")
        token = token_file(run_dir, port)
        assert token is not None and token.stat().st_mode & 0o777 == 0o600
        probe = f"""
import http.client, json, pathlib
out = {{}}
try:
    pathlib.Path({str(token)!r}).read_text()
    out["read"] = "yes"
except PermissionError:
    out["read"] = "denied"
for method, body in (("GET", None), ("PUT", "faults: [{{name: evil, action: error}}]")):
    c = http.client.HTTPConnection("127.0.0.1", {port}, timeout=10)
    c.request(method, "/rules", body=body)
    out[method] = c.getresponse().status
print(json.dumps(out))
"""
        r = subprocess.run(setpriv + ["/usr/bin/python3", "-c", probe],
                           capture_output=True, text=True, timeout=60, cwd="/")
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout) == {"read": "denied", "GET": 401, "PUT": 401}
        # The faults command as nobody: it cannot read the token either.
        r = faults_cli("list", "--endpoint", f"http://127.0.0.1:{port}", user="nobody",
                       env=client_env(FAULTLINE_RUN_DIR=str(run_dir)))
        assert r.returncode == 1 and "answered 401" in r.stderr, (r.stdout, r.stderr)
        assert "no token sent" in r.stderr, r.stderr
        assert "mine" in control.rules() and "evil" not in control.rules()
    finally:
        import shutil
        shutil.rmtree(run_dir, ignore_errors=True)


def test_faults_set_refuses_rules_already_expired(py_env, tmp_path):
    emu, control, _ = py_env
    endpoint = f"http://127.0.0.1:{control.port}"
    env = client_env(FAULTLINE_RUN_DIR=str(control.run_dir))
    old = tmp_path / "old.yaml"
    old.write_text("faults: [{name: old, target: side, action: error, ttl: 2s,"
                   " armed_at: 2024-01-01T00:00:00Z}]\n")
    r = faults_cli("set", str(old), "--endpoint", endpoint, env=env)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert r.stderr.strip() == (f'{old}: rule "old": expired at 2024-01-01T00:00:02Z '
                                "(ttl 2s from 2024-01-01T00:00:00Z)")
    status, body = control.call("PUT", "/rules", old.read_text())  # the endpoint checks too
    assert status == 400
    assert json.loads(body)["message"].startswith('PUT /rules: rule "old": expired at ')
    assert "old" not in control.rules()
    # A ttl sent now counts from now: armed_at is set, the rule fires.
    fresh = tmp_path / "fresh.yaml"
    fresh.write_text("faults: [{name: fresh, target: side, action: error, ttl: 10m}]\n")
    assert faults_cli("set", str(fresh), "--endpoint", endpoint, env=env).returncode == 0
    listed = faults_cli("list", "--endpoint", endpoint, env=env).stdout
    assert 'name: "fresh"' in listed and "armed_at:" in listed and "# expired" not in listed
    assert invoke(emu, "side", {"k": 1}).headers.get("x-amz-function-error") == "Unhandled"
    control.clear()


def test_a_ttl_in_an_old_rule_file_is_spent_at_a_cold_start(tmp_path, emulator, python_ric,
                                                             layer):
    """The same rule file (ttl 30 s), fresh for one function and written two
    minutes ago for the other: each cold start loads it into a new
    extension process; only the fresh one's rule fires."""
    app = tmp_path / "app"
    app.mkdir()
    (app / "side.py").write_text(HANDLER)
    markers = tmp_path / "markers"
    markers.mkdir()
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    text = ("faults:\n"
            "  - {name: brief, target: \"*\", action: error, ttl: 30s,\n"
            "     error: {type: Function.Brief, message: still armed}}\n")
    files = {name: tmp_path / f"{name}.yaml" for name in ("fresh", "stale")}
    for f in files.values():
        f.write_text(text)
    two_minutes_ago = time.time() - 120
    os.utime(files["stale"], (two_minutes_ago, two_minutes_ago))
    ports = {name: new_control_port() for name in files}
    fns = [with_layer(python_function(python_ric, name, "side.handler", working_dir=str(app),
                                      runtime="python3.12",
                                      environment={"MARKER_DIR": str(markers)}),
                      layer, run_dir, ports[name], FAULTLINE_RULES_FILE=str(files[name]))
           for name in files]
    emu = emulator(fns)
    fresh = invoke(emu, "fresh", {"k": 1})  # a cold start: a new extension loads the file
    assert fresh.headers.get("x-amz-function-error") == "Unhandled", fresh.body
    assert fresh.json()["errorType"] == "Function.Brief"
    stale = invoke(emu, "stale", {"k": 1})
    assert stale.status == 200 and "x-amz-function-error" not in stale.headers, stale.body
    assert stale.json() == {"ok": True, "event": {"k": 1}}
    listed = Control(ports["stale"], run_dir).rules()
    assert "# expired at " in listed and "(ttl 30s from " in listed, listed
    log = emu.log_path.read_text(errors="replace")
    assert f'rule "brief" of {files["stale"]}: expired at ' in log, emu.log_tail()


def test_a_run_directory_others_can_write_to_means_no_proxy(tmp_path, emulator, python_ric,
                                                            layer):
    """Fail open: the extension refuses the directory (and writes nothing
    there), the wrapper refuses it too and starts the runtime unproxied at
    once; the function answers normally, no rule reaches it."""
    app = tmp_path / "app"
    app.mkdir()
    (app / "side.py").write_text(HANDLER)
    markers = tmp_path / "markers"
    markers.mkdir()
    run_dir = tmp_path / "open-run"
    run_dir.mkdir()
    os.chmod(run_dir, 0o777)
    fn = with_layer(python_function(python_ric, "side", "side.handler", working_dir=str(app),
                                    runtime="python3.12",
                                    environment={"MARKER_DIR": str(markers)}),
                    layer, run_dir, new_control_port(),
                    FAULTLINE_RULES="faults: [{name: boom, target: side, action: error}]")
    emu = emulator([fn])
    r = invoke(emu, "side", {"k": 1})
    assert r.status == 200 and "x-amz-function-error" not in r.headers, r.body
    assert r.json() == {"ok": True, "event": {"k": 1}}
    log = emu.log_path.read_text(errors="replace")
    assert (f"faultline extension: run directory {run_dir}: refused: group or others can write "
            "to it (mode 0777, no sticky bit)") in log, emu.log_tail()
    assert (f"faultline-wrapper: the run directory {run_dir} is refused: group or others can "
            "write to it (mode 777); starting the runtime unproxied") in log, emu.log_tail()
    assert list(run_dir.iterdir()) == []


def test_node_function_through_the_wrapper_gets_an_error_before_the_handler(
        tmp_path, emulator, node_ric, layer):
    from lambda_it import node_function

    opt = layer
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    port = new_control_port()
    fn = with_layer(node_function(node_ric, "nodefn", "app.handler", runtime="nodejs20.x"),
                    opt, run_dir, port)
    emu = emulator([fn])
    first = invoke(emu, "nodefn", {"a": 1})
    assert first.status == 200 and "x-amz-function-error" not in first.headers, first.body
    control = Control(port, run_dir)
    control.put_rules("faults: [{name: node-down, target: nodefn, action: error,"
                      " error: {type: Function.NodeDown, message: m}}]")
    r = invoke(emu, "nodefn", {"a": 2})
    assert r.headers.get("x-amz-function-error") == "Unhandled"
    assert r.json()["errorType"] == "Function.NodeDown"
    control.clear()
    r = invoke(emu, "nodefn", {"a": 3})
    assert "x-amz-function-error" not in r.headers, r.body


# --- every fault kind, on Python and on Node ------------------------------------
#
# One emulator per runtime for the whole module, each function of it an
# unmodified handler started through layer/faultline-wrapper:
#
#   <rt>-api          rules through the control endpoint (cleared after each test)
#   <rt>-watch        rules from a watched FAULTLINE_RULES_FILE
#   <rt>-hang-before  FAULTLINE_RULES: a timeout rule, phase before; 1 s timeout
#   <rt>-hang-after   FAULTLINE_RULES: a timeout rule, phase after; 1 s timeout
#   <rt>-bad-rules    FAULTLINE_RULES: a malformed rule
#
# The handlers answer in the proxy-integration shape and leave a marker file
# named by the request id holding the time they ran (seconds since the epoch).

PY_API = '''
import json, os, pathlib, time

def handler(event, context):
    pathlib.Path(os.environ["MARKER_DIR"], context.aws_request_id).write_text(repr(time.time()))
    print(f"api handler ran, request {context.aws_request_id}", flush=True)
    path = (event.get("rawPath") or event.get("path")) if isinstance(event, dict) else None
    return {"statusCode": 200,
            "headers": {"Content-Type": "application/json", "X-Handler": "ran"},
            "body": json.dumps({"ok": True, "path": path})}
'''

NODE_API = '''"use strict";
const fs = require("fs");
const path = require("path");

exports.handler = async (event, context) => {
  const marker = path.join(process.env.MARKER_DIR, context.awsRequestId);
  fs.writeFileSync(marker, String(Date.now() / 1000));
  console.log(`api handler ran, request ${context.awsRequestId}`);
  const p = (event && (event.rawPath || event.path)) || null;
  return {statusCode: 200,
          headers: {"Content-Type": "application/json", "X-Handler": "ran"},
          body: JSON.stringify({ok: true, path: p})};
};
'''

HANDLER_HEADERS = {"Content-Type": "application/json", "X-Handler": "ran"}
TIMEOUT_S = 1


class Runtime:
    """One runtime's emulator, functions and control endpoints."""

    def __init__(self, name: str, emu, markers: Path, controls: dict, rules_file: Path):
        self.name = name
        self.emu = emu
        self.markers = markers
        self.controls = controls  # function suffix -> Control
        self.rules_file = rules_file

    def fn(self, suffix: str) -> str:
        return f"{self.name}-{suffix}"

    def ran(self, r) -> bool:
        return (self.markers / r.headers["x-amzn-requestid"]).exists()

    def ran_at(self, r) -> float:
        return float((self.markers / r.headers["x-amzn-requestid"]).read_text())

    def invoke(self, suffix: str, payload=None):
        return invoke(self.emu, self.fn(suffix), {"k": 1} if payload is None else payload)


@pytest.fixture(scope="module", params=["python", "node"])
def rt(request, tmp_path_factory, module_emulator, layer) -> Runtime:
    """The runtime's emulator (see above), its api and watch functions warm.
    Skips with the reason when the runtime's client is not installed."""
    name = request.param
    ric = request.getfixturevalue("python_ric" if name == "python" else "node_ric")
    from lambda_it import node_function

    work = tmp_path_factory.mktemp(f"ext-{name}")
    app, markers, run_dir = work / "app", work / "markers", work / "run"
    for d in (app, markers, run_dir):
        d.mkdir()
    if name == "python":
        (app / "side.py").write_text(PY_API)
        make = lambda fn, **kw: python_function(ric, fn, "side.handler", working_dir=str(app),
                                                runtime="python3.12", **kw)
    else:
        (app / "side.js").write_text(NODE_API)
        make = lambda fn, **kw: node_function(ric, fn, "side.handler", working_dir=str(app),
                                              runtime="nodejs20.x", **kw)
    rules_file = work / "faults.yaml"
    rules_file.write_text("faults: []\n")
    env = {"MARKER_DIR": str(markers)}
    ports = {s: new_control_port()
             for s in ("api", "watch", "hang-before", "hang-after", "bad-rules")}
    fns = [
        with_layer(make(f"{name}-api", environment=env), layer, run_dir, ports["api"]),
        with_layer(make(f"{name}-watch", environment=env), layer, run_dir, ports["watch"],
                   FAULTLINE_RULES_FILE=str(rules_file)),
    ]
    for phase in ("before", "after"):
        fns.append(with_layer(
            make(f"{name}-hang-{phase}", environment=env, timeout=TIMEOUT_S), layer, run_dir,
            ports[f"hang-{phase}"],
            FAULTLINE_RULES=f"faults: [{{name: hang, action: timeout, phase: {phase}}}]"))
    fns.append(with_layer(make(f"{name}-bad-rules", environment=env), layer, run_dir,
                          ports["bad-rules"],
                          FAULTLINE_RULES="faults: [{name: x, action: latncy}]"))
    emu = module_emulator(fns)
    out = Runtime(name, emu, markers, {s: Control(p, run_dir) for s, p in ports.items()},
                  rules_file)
    for suffix in ("api", "watch"):  # cold starts: the extensions are up after them
        first = out.invoke(suffix)
        assert first.status == 200 and out.ran(first), (first.body, emu.log_tail())
    return out


@pytest.fixture
def api(rt) -> Runtime:
    """rt, with the <rt>-api function's rules cleared after the test."""
    yield rt
    rt.controls["api"].clear()


def handler_answer(path=None) -> dict:
    return {"statusCode": 200, "headers": HANDLER_HEADERS,
            "body": json.dumps({"ok": True, "path": path})}


def answer(r) -> dict:
    """The caller's payload, with the handler's JSON body parsed (the two
    runtimes serialise it with different spacing)."""
    out = r.json()
    if isinstance(out, dict) and out.get("headers", {}).get("X-Handler") == "ran":
        out = dict(out, body=json.loads(out["body"]))
    return out


def assert_normal(rt: Runtime, r, path=None) -> None:
    assert r.status == 200 and "x-amz-function-error" not in r.headers, r.body
    assert answer(r) == dict(handler_answer(path), body={"ok": True, "path": path})
    assert rt.ran(r), "the handler did not run"


@pytest.mark.parametrize("phase", ["before", "after"])
def test_latency_delays_the_phase_it_names(api, phase):
    rt, delay = api, 0.4
    injected = rt.controls["api"].counters()["actions"]["latency"]  # counted per extension
    rt.controls["api"].put_rules(
        f"faults: [{{name: slow-{phase}, target: {rt.fn('api')}, action: latency,"
        f" latency: {delay * 1000:.0f}, phase: {phase}}}]")
    t0 = time.time()
    r = rt.invoke("api")
    t1 = time.time()
    assert_normal(rt, r)
    ran = rt.ran_at(r)
    # before: the event reached the handler late; after: its answer reached the caller late.
    late, prompt = (ran - t0, t1 - ran) if phase == "before" else (t1 - ran, ran - t0)
    assert late >= delay - 0.005, f"{phase}: {late:.3f} s, expected >= {delay} s"
    assert prompt < delay, f"{phase}: the other side took {prompt:.3f} s too"
    assert rt.controls["api"].counters()["actions"]["latency"] == injected + 1


@pytest.mark.parametrize("phase", ["before", "after"])
def test_status_answers_in_proxy_integration_shape(api, phase):
    rt = api
    rt.controls["api"].put_rules(
        f"faults: [{{name: unavailable, target: {rt.fn('api')}, action: status, phase: {phase},\n"
        "            status: {code: 503, headers: {Retry-After: \"5\"},\n"
        "                     body: '{\"message\":\"busy\"}'}}]")
    r = rt.invoke("api")
    assert r.status == 200 and "x-amz-function-error" not in r.headers, r.body
    assert r.json() == {"statusCode": 503,
                        "headers": {"Retry-After": "5", "Content-Type": "application/json"},
                        "body": '{"message":"busy"}', "isBase64Encoded": False}
    assert rt.ran(r) == (phase == "after"), "before: the handler must not run; after: it must"


@pytest.mark.parametrize("phase", ["before", "after"])
def test_body_replaces_the_answer_body(api, phase):
    rt = api
    rt.controls["api"].put_rules(f"faults: [{{name: garbled, target: {rt.fn('api')},"
                                 f" action: body, body: not json, phase: {phase}}}]")
    r = rt.invoke("api")
    assert r.status == 200 and "x-amz-function-error" not in r.headers, r.body
    if phase == "before":  # answered without running the handler
        assert r.json() == {"statusCode": 200, "body": "not json"}
        assert not rt.ran(r)
    else:  # the handler's proxy-integration answer, its body replaced
        assert r.json() == {"statusCode": 200, "headers": HANDLER_HEADERS, "body": "not json",
                            "isBase64Encoded": False}
        assert rt.ran(r)


@pytest.mark.parametrize("phase", ["before", "after"])
def test_error_fails_the_invocation(api, phase):
    rt = api
    rt.controls["api"].put_rules(
        f"faults: [{{name: down, target: {rt.fn('api')}, action: error, phase: {phase},"
        " error: {type: Function.PaymentsDown, message: payments unavailable}}]")
    r = rt.invoke("api")
    assert r.status == 200 and r.headers.get("x-amz-function-error") == "Unhandled", r.body
    err = r.json()
    assert err["errorType"] == "Function.PaymentsDown"
    assert err["errorMessage"] == "payments unavailable"
    assert rt.ran(r) == (phase == "after")
    rt.controls["api"].clear()
    assert_normal(rt, rt.invoke("api"))  # the very next invocation


@pytest.mark.parametrize("phase", ["before", "after"])
def test_timeout_ends_as_the_platform_timeout(rt, phase):
    t0 = time.monotonic()
    r = rt.invoke(f"hang-{phase}")
    elapsed = time.monotonic() - t0
    assert r.status == 200 and r.headers.get("x-amz-function-error") == "Unhandled", r.body
    err = r.json()
    assert err["errorType"] == "Sandbox.Timedout", err
    assert f"Task timed out after {TIMEOUT_S:.2f} seconds" in err["errorMessage"], err
    assert elapsed >= TIMEOUT_S
    if phase == "after":  # the handler answered; the proxy held the answer
        assert rt.ran(r)
    # before: the event is held to the deadline, then handed over as the
    # environment is stopped, so whether the handler started is a race.


def test_rule_file_is_hot_reloaded(rt):
    control = rt.controls["watch"]
    write_atomically(rt.rules_file,
                     "faults:\n"
                     f"  - {{name: file-down, target: {rt.fn('watch')}, action: error,\n"
                     "     error: {type: Function.FromFile, message: from the file}}\n")
    wait_until(lambda: "file-down" in control.rules(), "the rule file's rule is loaded")
    r = rt.invoke("watch")
    assert r.headers.get("x-amz-function-error") == "Unhandled", r.body
    assert r.json()["errorType"] == "Function.FromFile"
    assert not rt.ran(r)
    # A malformed file is logged and refused; the rule it would replace stays.
    write_atomically(rt.rules_file, "faults:\n  - {name: broken, action: latncy}\n")
    wait_until(lambda: "rejected; the previous rules stay active" in rt.emu.log_path.read_text(
        errors="replace"), "the malformed file is refused")
    r = rt.invoke("watch")
    assert r.json()["errorType"] == "Function.FromFile", r.body
    write_atomically(rt.rules_file, "faults: []\n")
    wait_until(lambda: "file-down" not in control.rules(), "the rule is gone")
    assert_normal(rt, rt.invoke("watch"))


HTTP_API_EVENT = {"version": "2.0", "routeKey": "$default", "rawQueryString": "",
                  "headers": {"content-type": "application/json"},
                  "requestContext": {"http": {"method": "POST", "path": "/x"}}}


@pytest.mark.parametrize("shape", ["http-api", "rest-api"])
def test_rule_matches_on_the_event_path(api, shape):
    rt = api
    rt.controls["api"].put_rules(
        f"faults: [{{name: checkout, target: {rt.fn('api')}, tags: {{path: \"/checkout*\"}},"
        " action: status, status: {code: 502, body: down}}]")

    def event(path):
        if shape == "http-api":
            return dict(HTTP_API_EVENT, rawPath=path)
        return {"resource": path, "path": path, "httpMethod": "POST", "body": None}

    hit = rt.invoke("api", event("/checkout/pay"))
    assert hit.json()["statusCode"] == 502 and hit.json()["body"] == "down", hit.body
    assert not rt.ran(hit)
    assert_normal(rt, rt.invoke("api", event("/cart")), path="/cart")
    assert_normal(rt, rt.invoke("api", event("/check")), path="/check")


def test_malformed_rules_fail_open(rt):
    r = rt.invoke("bad-rules")
    assert_normal(rt, r)
    log = rt.emu.log_path.read_text(errors="replace")
    assert "FAULTLINE_RULES:1:" in log and "(these rules are not used)" in log, rt.emu.log_tail()
    assert_normal(rt, rt.invoke("bad-rules"))
