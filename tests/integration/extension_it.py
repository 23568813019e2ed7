"""Helpers for the extension's integration tests (test_extension.py): the
faultline layer built and unpacked as /opt would hold it, functions.yaml
entries that run through it, and a client for its control endpoint."""

from __future__ import annotations

import http.client
import json
import os
import stat
import subprocess
import zipfile
from pathlib import Path

from lambda_it import HOST, faultline_bin, free_port

LAYER_NAMES = ["extensions/", "extensions/faultline", "bin/", "bin/faultline",
               "faultline-wrapper", "bootstrap-wrapper"]


def build_layer(workdir: Path) -> Path:
    """`faultline layer build`, unpacked into workdir/opt with the zip's modes
    (zipfile.extract drops them; Lambda keeps them)."""
    workdir.mkdir(parents=True, exist_ok=True)
    zip_path = workdir / "faultline-layer.zip"
    subprocess.run([str(faultline_bin().resolve()), "layer", "build", "-o", str(zip_path)],
                   check=True, capture_output=True, timeout=300)  # 240 MB under ASan
    opt = workdir / "opt"
    with zipfile.ZipFile(zip_path) as z:
        for info in z.infolist():
            z.extract(info, opt)
            mode = (info.external_attr >> 16) & 0o7777
            if mode:
                os.chmod(opt / info.filename, mode)
    return opt


def with_layer(fn: dict, opt: Path, run_dir: Path, control_port: int, **env) -> dict:
    """`fn` with the layer: its extension, and the wrapper (exec_wrapper for
    managed runtimes)."""
    out = dict(fn)
    out["extensions"] = [str(opt / "extensions" / "faultline")]
    out["exec_wrapper"] = str(opt / "faultline-wrapper")
    environment = dict(out.get("environment", {}))
    environment.update({
        "FAULTLINE_PROXY_PORT": "0",
        "FAULTLINE_CONTROL_PORT": str(control_port),
        "FAULTLINE_RUN_DIR": str(run_dir),
        "FAULTLINE_WATCH_INTERVAL_MS": "20",
    })
    environment.update(env)
    out["environment"] = environment
    return out


def token_file(run_dir: Path, port: int) -> Path | None:
    """The control token file of the extension whose control endpoint is on
    127.0.0.1:port: the faultline-token-<key> next to the
    faultline-control-<key> that holds that address (as `faultline faults`
    finds it)."""
    want = f"{HOST}:{port}"
    for f in sorted(run_dir.glob("faultline-control-*")):
        try:
            if f.read_text().strip() == want:
                return run_dir / ("faultline-token-" + f.name[len("faultline-control-"):])
        except OSError:
            continue
    return None


# Control.call(token=...): find the token in the run directory.
FIND = object()


class Control:
    """The extension's control endpoint on loopback. Every call carries the
    token of the extension running now (a new one at each cold start), read
    from its token file in run_dir."""

    def __init__(self, port: int, run_dir: Path):
        self.port = port
        self.run_dir = run_dir

    def token(self) -> str | None:
        f = token_file(self.run_dir, self.port)
        return f.read_text().strip() if f is not None and f.exists() else None

    def call(self, method: str, path: str, body: str | None = None,
             token=FIND) -> tuple[int, bytes]:
        """token: FIND (the extension's), None (no Authorization), or a string."""
        if token is FIND:
            token = self.token()
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        conn = http.client.HTTPConnection(HOST, self.port, timeout=10)
        try:
            conn.request(method, path, body=body.encode() if body is not None else None,
                         headers=headers)
            r = conn.getresponse()
            return r.status, r.read()
        finally:
            conn.close()

    def put_rules(self, text: str) -> None:
        status, body = self.call("PUT", "/rules", text)
        assert status == 200, body

    def clear(self) -> None:
        status, body = self.call("DELETE", "/rules")
        assert status == 200, body

    def rules(self) -> str:
        status, body = self.call("GET", "/rules")
        assert status == 200, body
        return body.decode(errors="replace")

    def counters(self) -> dict:
        status, body = self.call("GET", "/counters")
        assert status == 200, body
        return json.loads(body)


def is_executable(path: Path) -> bool:
    return bool(path.stat().st_mode & stat.S_IXUSR)


def new_control_port() -> int:
    return free_port()


def settle(emu, request_id: str, timeout_s: float = 10.0) -> None:
    """Waits (bounded) until the invocation's REPORT line: the environment is
    free again once its extensions have called event/next, so the next
    invocation goes to the same environment (and the same extension) instead
    of a new one."""
    import time

    needle = f"REPORT RequestId: {request_id}"
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if needle in emu.log_path.read_text(errors="replace"):
            return
        time.sleep(0.005)
    raise AssertionError(f"no {needle!r} within {timeout_s} s:\n{emu.log_tail()}")


def wait_until(check, what: str, timeout_s: float = 10.0, every_s: float = 0.01):
    """Polls check() until it is true (bounded); returns its last value."""
    import time

    end = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= end:
            raise AssertionError(f"not within {timeout_s} s: {what}")
        time.sleep(every_s)


def write_atomically(path: Path, text: str) -> None:
    """Replaces path's content in one rename, so a watcher never reads half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def invoke(emu, name: str, payload=None, headers=None):
    """invoke_raw, then settle."""
    r = emu.invoke_raw(name, payload, headers=headers)
    if "x-amzn-requestid" in r.headers:
        settle(emu, r.headers["x-amzn-requestid"])
    return r
