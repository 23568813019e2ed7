"""Helpers for the integration tests (see conftest.py): client availability,
functions.yaml entries, starting `faultline lambda serve`, raw HTTP, metrics."""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STATUS_DIR = ROOT / "build" / "test-clients"
PYTHON_APP_DIR = ROOT / "examples" / "functions" / "python"
NODE_APP_DIR = ROOT / "examples" / "functions" / "node"
VENV_PYTHON = ROOT / "build" / "pyenv" / "bin" / "python"

HOST = "127.0.0.1"
STARTUP_TIMEOUT_S = 20.0
HTTP_TIMEOUT_S = 30.0


# --- client availability -------------------------------------------------------


def unavailable_reason(client: str) -> str | None:
    """The recorded reason `client` could not be installed, or None."""
    marker = STATUS_DIR / f"{client}.unavailable"
    if not marker.exists():
        return None
    text = marker.read_text(errors="replace").strip()
    first = text.splitlines()[0] if text else "no reason recorded"
    return f"{client} unavailable: {first} (details: {marker})"


def skip_if_unavailable(client: str) -> None:
    reason = unavailable_reason(client)
    if reason:
        pytest.skip(reason)


def require_boto3():
    skip_if_unavailable("boto3")
    try:
        import boto3  # noqa: F401
        import botocore  # noqa: F401
    except ImportError as e:
        pytest.skip(
            f"boto3 not importable by {sys.executable} ({e}); "
            "run scripts/install-test-clients.sh and use build/pyenv/bin/python"
        )
    return boto3


def _python_with_awslambdaric() -> str | None:
    for py in (sys.executable, str(VENV_PYTHON)):
        if not Path(py).exists():
            continue
        r = subprocess.run(
            [py, "-c", "import awslambdaric, runtime_client"],
            capture_output=True,
            timeout=60,
        )
        if r.returncode == 0:
            return py
    return None


# --- function definitions --------------------------------------------------------


def python_function(python: str, name: str, handler: str = "app.handler", **extra) -> dict:
    """A functions.yaml entry running examples/functions/python through awslambdaric."""
    fn = {
        "name": name,
        "command": [python, "-m", "awslambdaric", handler],
        "handler": handler,
        "working_dir": str(PYTHON_APP_DIR),
        "timeout": 10,
        "memory": 128,
    }
    fn.update(extra)
    return fn


def python_function_from_handler_env(python: str, name: str, handler: str = "app.handler", **extra) -> dict:
    """Like python_function, but the command takes the handler from $_HANDLER,
    the variable Lambda sets from the function's Handler setting, so that
    UpdateFunctionConfiguration(Handler=...) takes effect."""
    fn = python_function(python, name, handler, **extra)
    fn["command"] = f'exec {shlex.quote(python)} -m awslambdaric "$_HANDLER"'
    return fn


def node_function(ric: str, name: str, handler: str = "app.handler", **extra) -> dict:
    """A functions.yaml entry running examples/functions/node through aws-lambda-ric."""
    fn = {
        "name": name,
        "command": [ric, handler],
        "handler": handler,
        "working_dir": str(NODE_APP_DIR),
        "timeout": 10,
        "memory": 128,
    }
    fn.update(extra)
    return fn


def cpp_example(binary: str) -> Path:
    """A C++ example function built next to the faultline binary under test
    (build/<preset>/examples/functions/cpp/<binary>)."""
    return faultline_bin().resolve().parents[2] / "examples" / "functions" / "cpp" / binary


def cpp_function(name: str, binary: str, **extra) -> dict:
    """A functions.yaml entry running a C++ example function (examples/functions/cpp)."""
    path = cpp_example(binary)
    if not path.exists():
        pytest.fail(f"C++ example function {path} not built (target faultline_example_functions)", pytrace=False)
    fn = {"name": name, "command": [str(path)], "timeout": 10, "memory": 128}
    fn.update(extra)
    return fn


def _yaml_scalar(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    # A JSON string is a valid YAML double-quoted scalar.
    return json.dumps(str(v))


def to_yaml(functions: list[dict]) -> str:
    """functions.yaml text (block style; the format has no need for PyYAML)."""
    lines = ["functions:"]
    for fn in functions:
        first = True
        for key, value in fn.items():
            prefix = "  - " if first else "    "
            first = False
            if isinstance(value, dict):
                lines.append(f"{prefix}{key}:")
                for k, v in value.items():
                    lines.append(f"      {k}: {_yaml_scalar(v)}")
            elif isinstance(value, list):
                lines.append(f"{prefix}{key}: [{', '.join(_yaml_scalar(v) for v in value)}]")
            else:
                lines.append(f"{prefix}{key}: {_yaml_scalar(value)}")
    return "\n".join(lines) + "\n"


# --- the emulator --------------------------------------------------------------


def faultline_bin() -> Path:
    return Path(os.environ.get("FAULTLINE_BIN") or ROOT / "build" / "dev" / "src" / "cli" / "faultline")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@dataclass
class Response:
    status: int
    headers: dict  # lower-cased names
    body: bytes

    def json(self):
        return json.loads(self.body)


def read_credentials(path: Path) -> tuple[str, str]:
    """(access key id, secret) of the [faultline] profile the emulator wrote."""
    import configparser

    parser = configparser.ConfigParser()
    parser.read(path)
    section = parser["faultline"]
    return section["aws_access_key_id"], section["aws_secret_access_key"]


@dataclass
class Emulator:
    port: int
    process: subprocess.Popen
    log_path: Path
    config_path: Path
    credentials_dir: Path

    @property
    def credentials(self) -> tuple[str, str]:
        return read_credentials(self.credentials_dir / "credentials")

    def sign(self, method: str, path: str, body: bytes, headers: dict) -> dict:
        """headers plus the SigV4 ones botocore would add for this request."""
        require_boto3()
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        key, secret = self.credentials
        req = AWSRequest(method=method, url=f"{self.endpoint}{path}", data=body, headers=dict(headers))
        SigV4Auth(Credentials(key, secret), "lambda", "us-east-1").add_auth(req)
        return dict(req.headers.items())

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}"

    def request(self, method: str, path: str, body=None, headers=None, timeout: float = HTTP_TIMEOUT_S,
                signed: bool = True) -> Response:
        """A raw HTTP request, signed with the emulator's credentials (as every
        AWS client signs) unless signed=False."""
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        if signed and self.credentials_dir is not None:
            headers = self.sign(method, path, body or b"", headers or {})
        conn = http.client.HTTPConnection(HOST, self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
        finally:
            conn.close()

    def invoke_raw(self, name: str, payload=None, headers=None, timeout: float = HTTP_TIMEOUT_S) -> Response:
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        body = b"" if payload is None else (payload if isinstance(payload, bytes) else json.dumps(payload).encode())
        return self.request("POST", f"/2015-03-31/functions/{name}/invocations", body, h, timeout)

    def lambda_client(self, **config):
        """boto3's Lambda client pointed at this emulator.

        Retries are off so that a 429 reaches the test as TooManyRequestsException
        instead of being retried away; the read timeout outlasts any test function.
        """
        boto3 = require_boto3()
        from botocore.config import Config

        cfg = dict(
            retries={"total_max_attempts": 1, "mode": "standard"},
            connect_timeout=5,
            read_timeout=HTTP_TIMEOUT_S,
            max_pool_connections=16,
        )
        cfg.update(config)
        return boto3.client(
            "lambda",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=self.credentials[0],
            aws_secret_access_key=self.credentials[1],
            config=Config(**cfg),
        )

    def env_exports(self, *flags: str) -> dict:
        """The variables `faultline lambda env` tells a shell to export."""
        out = subprocess.run(
            [str(faultline_bin()), "lambda", "env", "--endpoint", self.endpoint,
             "--credentials-dir", str(self.credentials_dir), *flags],
            capture_output=True, text=True, timeout=30, check=True).stdout
        exports = {}
        for line in out.splitlines():
            m = re.fullmatch(r"export ([A-Z_]+)='([^']*)'", line)
            assert m, f"not an export line: {line!r}"
            exports[m.group(1)] = m.group(2)
        return exports

    def aws(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """The aws CLI (build/pyenv), set up only by `faultline lambda env --profile`."""
        aws = VENV_PYTHON.parent / "aws"
        if not aws.exists():
            pytest.skip(unavailable_reason("awscli") or "the aws CLI is not installed in build/pyenv")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(self.env_exports("--profile"))
        r = subprocess.run([str(aws), "lambda", *args, "--output", "json"], capture_output=True,
                           text=True, timeout=60, env=env)
        if check and r.returncode != 0:
            raise AssertionError(f"aws lambda {' '.join(args)} exited {r.returncode}: {r.stderr}")
        return r

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        p = self.process
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)


def start_emulator(workdir: Path, functions: list[dict], args: tuple = (), top: str = "") -> Emulator:
    """`faultline lambda serve` on a free loopback port with `functions` (and
    `top`, more top-level functions.yaml text; `args`, more flags)."""
    binary = faultline_bin()
    if not binary.exists():
        pytest.fail(
            f"faultline binary not found at {binary} (set FAULTLINE_BIN, or build the dev preset)",
            pytrace=False,
        )
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "functions.yaml"
    config.write_text(top + to_yaml(functions))
    log_path = workdir / "faultline.log"
    credentials_dir = workdir / "credentials"
    port = free_port()
    log = open(log_path, "wb")
    try:
        process = subprocess.Popen(
            [str(binary), "lambda", "serve", "--config", str(config), "--port", str(port),
             "--credentials-dir", str(credentials_dir), *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=str(workdir),
        )
    finally:
        log.close()
    emu = Emulator(port, process, log_path, config, credentials_dir)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    last_error = "no answer yet"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"faultline lambda serve exited with {process.returncode} before answering; "
                f"config {config}:\n{config.read_text()}\nlog:\n{emu.log_tail()}",
                pytrace=False,
            )
        try:
            r = emu.request("GET", "/2015-03-31/functions/", timeout=2,
                            signed=(credentials_dir / "credentials").exists())
            if r.status == 200:
                return emu
            last_error = f"HTTP {r.status}"
        except OSError as e:
            last_error = repr(e)
        time.sleep(0.1)
    emu.stop()
    pytest.fail(
        f"faultline lambda serve did not answer GET /2015-03-31/functions/ on {emu.endpoint} "
        f"within {STARTUP_TIMEOUT_S:.0f} s ({last_error}); log:\n{emu.log_tail()}",
        pytrace=False,
    )


# --- checks shared by the tests -------------------------------------------------


def decode_log_result(b64: str) -> str:
    return base64.b64decode(b64).decode("utf-8", errors="replace")


def read_payload(resp) -> dict:
    """The JSON payload of a boto3 invoke() response."""
    return json.loads(resp["Payload"].read())


def throttles_in_metrics_json(doc, function: str) -> float:
    """The largest Throttles count for `function` found in /metrics.json,
    whatever its exact layout (keyed by function name, or objects naming it)."""
    best = 0.0

    def numbers(v):
        if isinstance(v, bool):
            return
        if isinstance(v, (int, float)):
            yield float(v)
        elif isinstance(v, dict):
            for x in v.values():
                yield from numbers(x)

    def walk(node, about_fn: bool):
        nonlocal best
        if isinstance(node, dict):
            about = about_fn or function in [v for v in node.values() if isinstance(v, str)]
            for k, v in node.items():
                child_about = about or k == function
                if child_about and "throttle" in str(k).lower():
                    for x in numbers(v):
                        best = max(best, x)
                walk(v, child_about)
        elif isinstance(node, list):
            for x in node:
                walk(x, about_fn)

    walk(doc, False)
    return best


_PROM_LINE = re.compile(r"^([A-Za-z_:][A-Za-z0-9_:]*)(\{[^}]*\})?\s+(\S+)")


def throttles_in_prometheus(text: str, function: str) -> float:
    """The largest value of a throttle metric labelled with `function`."""
    best = 0.0
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = _PROM_LINE.match(line)
        if not m or "throttle" not in m.group(1).lower():
            continue
        labels = m.group(2) or ""
        if f'"{function}"' not in labels:
            continue
        try:
            best = max(best, float(m.group(3)))
        except ValueError:
            pass
    return best


def throttles_metric(emu: Emulator, function: str) -> tuple[float, str]:
    """Throttles for `function` from /metrics.json, else /metrics; with what was read."""
    seen = []
    r = emu.request("GET", "/metrics.json", timeout=5)
    seen.append(f"/metrics.json -> {r.status}: {r.body[:2000].decode(errors='replace')}")
    if r.status == 200:
        try:
            n = throttles_in_metrics_json(r.json(), function)
            if n > 0:
                return n, "\n".join(seen)
        except ValueError:
            pass
    r = emu.request("GET", "/metrics", timeout=5)
    seen.append(f"/metrics -> {r.status}: {r.body[:4000].decode(errors='replace')}")
    if r.status == 200:
        n = throttles_in_prometheus(r.body.decode(errors="replace"), function)
        if n > 0:
            return n, "\n".join(seen)
    return 0.0, "\n".join(seen)


# --- what every runtime client must see through the emulator -------------------

# Names of the functions each runtime's test module defines (prefix + "-" + suffix).
ECHO, ERROR, SLEEP, TIMEOUT, COLD = "echo", "error", "sleep", "timeout", "cold"


def runtime_functions(make, prefix: str) -> list[dict]:
    """The functions a runtime test module serves; `make(name, handler, **extra)`
    builds one functions.yaml entry for that runtime."""
    return [
        make(f"{prefix}-{ECHO}", "app.handler", environment={"FAULTLINE_EXAMPLE_COLOR": "blue"}),
        make(f"{prefix}-{ERROR}", "app.error"),
        make(f"{prefix}-{SLEEP}", "app.sleep"),
        make(f"{prefix}-{TIMEOUT}", "app.sleep", timeout=1),
        make(f"{prefix}-{COLD}", "app.handler"),
    ]


class RuntimeContract:
    """Invoke API behaviour for a function behind a real runtime interface
    client, as AWS documents it. A test module subclasses this as Test...,
    with `prefix` set and an `emu` fixture serving runtime_functions(prefix)."""

    prefix = ""

    def name(self, suffix: str) -> str:
        return f"{self.prefix}-{suffix}"

    # -- through boto3

    def test_invoke_echo_boto3(self, emu):
        client = emu.lambda_client()
        event = {"hello": "world", "n": [1, 2, 3], "nested": {"ok": True}}
        resp = client.invoke(FunctionName=self.name(ECHO), Payload=json.dumps(event))
        assert resp["StatusCode"] == 200
        assert "FunctionError" not in resp
        assert resp.get("ExecutedVersion") == "$LATEST"
        out = read_payload(resp)
        assert out["echo"] == event
        assert out["function"] == self.name(ECHO)
        # The Invoke response's request id is the invocation's.
        assert out["request_id"] == resp["ResponseMetadata"]["RequestId"]
        assert out["memory_limit_in_mb"] == 128
        assert out["env"] == {"FAULTLINE_EXAMPLE_COLOR": "blue"}

    def test_warm_environment_is_reused(self, emu):
        client = emu.lambda_client()
        first = read_payload(client.invoke(FunctionName=self.name(ECHO), Payload=b'{"i": 1}'))
        second = read_payload(client.invoke(FunctionName=self.name(ECHO), Payload=b'{"i": 2}'))
        assert first["pid"] == second["pid"], "a warm environment should serve the next invoke"
        assert first["request_id"] != second["request_id"]
        assert second["echo"] == {"i": 2}

    def test_function_error_boto3(self, emu):
        client = emu.lambda_client()
        resp = client.invoke(FunctionName=self.name(ERROR), Payload=json.dumps({"message": "boom 42"}))
        assert resp["StatusCode"] == 200
        assert resp.get("FunctionError") == "Unhandled"
        err = read_payload(resp)
        assert err["errorType"] == "ExampleError"
        assert err["errorMessage"] == "boom 42"

    def test_function_error_then_success(self, emu):
        client = emu.lambda_client()
        resp = client.invoke(FunctionName=self.name(ERROR), Payload=b"{}")
        assert resp.get("FunctionError") == "Unhandled"
        assert read_payload(resp)["errorMessage"] == "example failure"
        resp = client.invoke(FunctionName=self.name(SLEEP), Payload=b'{"ms": 1}')
        assert "FunctionError" not in resp
        assert read_payload(resp)["slept_ms"] == 1

    def test_timeout(self, emu):
        client = emu.lambda_client()
        name = self.name(TIMEOUT)
        # Warm up first, so that the timing below measures the invoke alone.
        warm = client.invoke(FunctionName=name, Payload=b'{"ms": 0}')
        assert "FunctionError" not in warm, read_payload(warm)
        t0 = time.monotonic()
        resp = client.invoke(FunctionName=name, Payload=b'{"ms": 2000}')
        elapsed = time.monotonic() - t0
        assert resp["StatusCode"] == 200
        assert resp.get("FunctionError") == "Unhandled"
        err = read_payload(resp)
        assert "Task timed out after 1.00 seconds" in err.get("errorMessage", ""), err
        assert elapsed < 1.9, f"the caller should get the timeout after ~1 s, got it after {elapsed:.2f} s"
        # The environment was stopped and is replaced: the next invoke works.
        again = client.invoke(FunctionName=name, Payload=b'{"ms": 0}')
        assert "FunctionError" not in again, read_payload(again)
        assert read_payload(again)["slept_ms"] == 0

    def test_log_tail(self, emu):
        client = emu.lambda_client()
        resp = client.invoke(FunctionName=self.name(ECHO), Payload=b'{"tail": 1}', LogType="Tail")
        assert "LogResult" in resp, "LogType=Tail must return X-Amz-Log-Result"
        raw = base64.b64decode(resp["LogResult"])
        assert len(raw) <= 4096, "the tail is the last 4 KB of the log"
        log = raw.decode("utf-8", errors="replace")
        rid = read_payload(resp)["request_id"]
        assert f"REPORT RequestId: {rid}" in log, log
        assert f"echo handler invoked, request {rid}" in log, log
        report = next(line for line in log.splitlines() if line.startswith(f"REPORT RequestId: {rid}"))
        for part in ("Duration:", "Billed Duration:", "Memory Size: 128 MB", "Max Memory Used:"):
            assert part in report, report
        assert f"END RequestId: {rid}" in log, log

    def test_cold_start_report_has_init_duration(self, emu):
        client = emu.lambda_client()
        name = self.name(COLD)
        first = client.invoke(FunctionName=name, Payload=b"{}", LogType="Tail")
        log1 = decode_log_result(first["LogResult"])
        assert "REPORT RequestId:" in log1 and "Init Duration:" in log1, log1
        second = client.invoke(FunctionName=name, Payload=b"{}", LogType="Tail")
        log2 = decode_log_result(second["LogResult"])
        rid2 = read_payload(second)["request_id"]
        report2 = next(line for line in log2.splitlines() if line.startswith(f"REPORT RequestId: {rid2}"))
        assert "Init Duration" not in report2, "a warm invoke has no Init Duration"

    # -- through raw HTTP

    def test_invoke_echo_raw_http(self, emu):
        event = {"raw": True, "text": "h\u00e9llo"}
        r = emu.invoke_raw(self.name(ECHO), event)
        assert r.status == 200, r
        assert "x-amz-function-error" not in r.headers
        assert r.headers.get("x-amz-executed-version") == "$LATEST"
        out = r.json()
        assert out["echo"] == event
        assert out["function"] == self.name(ECHO)
        assert r.headers.get("x-amzn-requestid") == out["request_id"]

    def test_function_error_raw_http(self, emu):
        r = emu.invoke_raw(self.name(ERROR), {"message": "raw boom"})
        assert r.status == 200, r
        assert r.headers.get("x-amz-function-error") == "Unhandled"
        err = r.json()
        assert err["errorType"] == "ExampleError"
        assert err["errorMessage"] == "raw boom"

    def test_log_tail_raw_http(self, emu):
        r = emu.invoke_raw(self.name(ECHO), {}, headers={"X-Amz-Log-Type": "Tail"})
        assert r.status == 200, r
        log = decode_log_result(r.headers["x-amz-log-result"])
        assert f"REPORT RequestId: {r.json()['request_id']}" in log, log

    def test_event_invocation_raw_http(self, emu):
        r = emu.invoke_raw(self.name(SLEEP), {"ms": 0}, headers={"X-Amz-Invocation-Type": "Event"})
        assert r.status == 202, r
        assert r.body == b""

    def test_dry_run_raw_http(self, emu):
        r = emu.invoke_raw(self.name(SLEEP), {"ms": 0}, headers={"X-Amz-Invocation-Type": "DryRun"})
        assert r.status == 204, r
