"""boto3's Lambda client, with an endpoint override, against `faultline lambda
serve`: the management subset (GetFunction, GetFunctionConfiguration,
ListFunctions, UpdateFunctionConfiguration, Put/Get/DeleteFunctionConcurrency),
throttling under reserved concurrency with the Throttles metric, and AWS's
error shapes. The functions are examples/functions/python/app.py through
awslambdaric."""

import json
import threading
import time

import pytest

from lambda_it import (
    python_function,
    python_function_from_handler_env,
    read_payload,
    require_boto3,
    throttles_metric,
)

THROTTLE_REASON = "ReservedFunctionConcurrentInvocationLimitExceeded"


@pytest.fixture
def boto3_mod():
    return require_boto3()


def error_code(exc) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def http_status(exc) -> int:
    return exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)


def test_list_and_get_function(emulator, python_ric, boto3_mod):
    emu = emulator(
        [
            python_function(python_ric, "alpha", timeout=7, memory=256, environment={"FAULTLINE_EXAMPLE_A": "1"}),
            python_function(python_ric, "beta", "app.sleep"),
        ]
    )
    client = emu.lambda_client()

    names = sorted(f["FunctionName"] for f in client.list_functions()["Functions"])
    assert names == ["alpha", "beta"]

    cfg = client.get_function_configuration(FunctionName="alpha")
    assert cfg["FunctionName"] == "alpha"
    assert cfg["FunctionArn"].startswith("arn:aws:lambda:")
    assert cfg["FunctionArn"].endswith(":function:alpha")
    assert cfg["Timeout"] == 7
    assert cfg["MemorySize"] == 256
    assert cfg["Handler"] == "app.handler"
    assert cfg["Environment"]["Variables"] == {"FAULTLINE_EXAMPLE_A": "1"}

    fn = client.get_function(FunctionName="beta")
    assert fn["Configuration"]["FunctionName"] == "beta"
    assert fn["Configuration"]["Handler"] == "app.sleep"
    assert fn["Configuration"]["Timeout"] == 10
    assert fn["Configuration"]["MemorySize"] == 128
    assert "Concurrency" not in fn or "ReservedConcurrentExecutions" not in fn["Concurrency"]


def test_unknown_function_is_resource_not_found(emulator, python_ric, boto3_mod):
    emu = emulator([python_function(python_ric, "known")])
    client = emu.lambda_client()
    for call in (
        lambda: client.invoke(FunctionName="missing", Payload=b"{}"),
        lambda: client.get_function_configuration(FunctionName="missing"),
        lambda: client.get_function(FunctionName="missing"),
    ):
        with pytest.raises(client.exceptions.ResourceNotFoundException) as info:
            call()
        assert http_status(info.value) == 404

    r = emu.invoke_raw("missing", {})
    assert r.status == 404, r
    assert r.headers.get("x-amzn-errortype", "").split(":")[0] == "ResourceNotFoundException"
    body = r.json()
    # AWS's shape: {"Type": "User", "Message": "Function not found: arn:..."}
    # (botocore reads the message from either "Message" or "message").
    assert body.get("Type") == "User", body
    assert body.get("Message") or body.get("message"), body


def test_reserved_concurrency_from_config(emulator, python_ric, boto3_mod):
    emu = emulator([python_function(python_ric, "reserved", reserved_concurrency=3)])
    client = emu.lambda_client()
    assert client.get_function_concurrency(FunctionName="reserved")["ReservedConcurrentExecutions"] == 3
    assert client.get_function(FunctionName="reserved")["Concurrency"]["ReservedConcurrentExecutions"] == 3


def test_put_get_delete_function_concurrency(emulator, python_ric, boto3_mod):
    emu = emulator([python_function(python_ric, "conc")])
    client = emu.lambda_client()
    assert "ReservedConcurrentExecutions" not in client.get_function_concurrency(FunctionName="conc")

    put = client.put_function_concurrency(FunctionName="conc", ReservedConcurrentExecutions=1)
    assert put["ReservedConcurrentExecutions"] == 1
    assert client.get_function_concurrency(FunctionName="conc")["ReservedConcurrentExecutions"] == 1
    assert client.get_function(FunctionName="conc")["Concurrency"]["ReservedConcurrentExecutions"] == 1

    client.delete_function_concurrency(FunctionName="conc")
    assert "ReservedConcurrentExecutions" not in client.get_function_concurrency(FunctionName="conc")

    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.put_function_concurrency(FunctionName="missing", ReservedConcurrentExecutions=1)


def concurrent_invokes(client, name: str, payload: dict, n: int, timeout_s: float = 30.0):
    """n invokes started together; returns (successes, throttles, others)."""
    barrier = threading.Barrier(n, timeout=timeout_s)
    results = [None] * n

    def run(i):
        try:
            barrier.wait()
            resp = client.invoke(FunctionName=name, Payload=json.dumps(payload))
            results[i] = ("ok", resp, read_payload(resp))
        except client.exceptions.TooManyRequestsException as e:
            results[i] = ("throttled", e, None)
        except Exception as e:  # noqa: BLE001 - reported below
            results[i] = ("error", e, None)

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout_s
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), f"invokes still running after {timeout_s} s"
    ok = [r for r in results if r[0] == "ok"]
    throttled = [r for r in results if r[0] == "throttled"]
    others = [r for r in results if r[0] == "error"]
    return ok, throttled, others


def test_reserved_concurrency_throttles(emulator, python_ric, boto3_mod):
    emu = emulator([python_function(python_ric, "throttled", "app.sleep")])
    client = emu.lambda_client()
    client.put_function_concurrency(FunctionName="throttled", ReservedConcurrentExecutions=1)
    assert client.get_function_concurrency(FunctionName="throttled")["ReservedConcurrentExecutions"] == 1

    ok, throttled, others = concurrent_invokes(client, "throttled", {"ms": 1000}, 4)
    assert not others, [repr(r[1]) for r in others]
    assert throttled, "4 concurrent invokes with a reserved concurrency of 1 must produce a 429"
    assert ok, "one of the 4 invokes should have run"
    for _, resp, payload in ok:
        assert "FunctionError" not in resp, payload
        assert payload["slept_ms"] == 1000
    for _, exc, _ in throttled:
        assert error_code(exc) == "TooManyRequestsException"
        assert http_status(exc) == 429
        assert exc.response.get("Reason") == THROTTLE_REASON, exc.response

    # The Throttles metric counts them (read as probes and stop conditions would).
    deadline = time.monotonic() + 5
    while True:
        count, seen = throttles_metric(emu, "throttled")
        if count > 0 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert count >= 1, f"no Throttles > 0 for 'throttled' in /metrics.json or /metrics:\n{seen}"

    # Without the reservation, the function scales out again.
    client.delete_function_concurrency(FunctionName="throttled")
    assert "ReservedConcurrentExecutions" not in client.get_function_concurrency(FunctionName="throttled")
    ok, throttled, others = concurrent_invokes(client, "throttled", {"ms": 200}, 2)
    assert len(ok) == 2, (throttled, others)


def test_zero_reserved_concurrency_throttles_raw_http(emulator, python_ric):
    emu = emulator([python_function(python_ric, "stopped")])
    r = emu.request(
        "PUT",
        "/2017-10-31/functions/stopped/concurrency",
        {"ReservedConcurrentExecutions": 0},
        {"Content-Type": "application/json"},
    )
    assert r.status == 200, r
    assert r.json() == {"ReservedConcurrentExecutions": 0}
    r = emu.request("GET", "/2019-09-30/functions/stopped/concurrency")
    assert r.status == 200, r
    assert r.json().get("ReservedConcurrentExecutions") == 0

    r = emu.invoke_raw("stopped", {})
    assert r.status == 429, r
    assert r.headers.get("x-amzn-errortype", "").split(":")[0] == "TooManyRequestsException"
    body = r.json()
    assert body.get("Reason") == THROTTLE_REASON, body
    assert body.get("message") or body.get("Message"), body

    r = emu.request("DELETE", "/2017-10-31/functions/stopped/concurrency")
    assert r.status == 204, r
    r = emu.invoke_raw("stopped", {"after": "delete"})
    assert r.status == 200, r
    assert r.json()["echo"] == {"after": "delete"}


def test_update_function_configuration(emulator, python_ric, boto3_mod):
    emu = emulator(
        [python_function(python_ric, "tunable", timeout=3, memory=128, environment={"FAULTLINE_EXAMPLE_MODE": "initial"})]
    )
    client = emu.lambda_client()
    before = read_payload(client.invoke(FunctionName="tunable", Payload=b"{}"))
    assert before["env"] == {"FAULTLINE_EXAMPLE_MODE": "initial"}
    assert before["memory_limit_in_mb"] == 128

    updated = client.update_function_configuration(
        FunctionName="tunable",
        Timeout=7,
        MemorySize=256,
        Environment={"Variables": {"FAULTLINE_EXAMPLE_MODE": "updated", "FAULTLINE_EXAMPLE_EXTRA": "x"}},
    )
    assert updated["FunctionName"] == "tunable"
    assert updated["Timeout"] == 7
    assert updated["MemorySize"] == 256

    cfg = client.get_function_configuration(FunctionName="tunable")
    assert cfg["Timeout"] == 7
    assert cfg["MemorySize"] == 256
    assert cfg["Environment"]["Variables"] == {"FAULTLINE_EXAMPLE_MODE": "updated", "FAULTLINE_EXAMPLE_EXTRA": "x"}
    assert client.get_function(FunctionName="tunable")["Configuration"]["MemorySize"] == 256

    # Invocations after the update run with the new configuration.
    after = read_payload(client.invoke(FunctionName="tunable", Payload=b"{}"))
    assert after["env"] == {"FAULTLINE_EXAMPLE_MODE": "updated", "FAULTLINE_EXAMPLE_EXTRA": "x"}
    assert after["memory_limit_in_mb"] == 256


def test_update_timeout_takes_effect(emulator, python_ric, boto3_mod):
    emu = emulator([python_function(python_ric, "slow", "app.sleep", timeout=10)])
    client = emu.lambda_client()
    client.update_function_configuration(FunctionName="slow", Timeout=1)
    resp = client.invoke(FunctionName="slow", Payload=b'{"ms": 2000}')
    assert resp.get("FunctionError") == "Unhandled"
    assert "Task timed out after 1.00 seconds" in read_payload(resp).get("errorMessage", "")


def test_update_handler_via__HANDLER(emulator, python_ric, boto3_mod):
    # The command starts awslambdaric with "$_HANDLER", which Lambda sets from
    # the function's Handler setting.
    emu = emulator([python_function_from_handler_env(python_ric, "switch", "app.handler")])
    client = emu.lambda_client()
    assert read_payload(client.invoke(FunctionName="switch", Payload=b'{"a": 1}'))["echo"] == {"a": 1}
    updated = client.update_function_configuration(FunctionName="switch", Handler="app.sleep")
    assert updated["Handler"] == "app.sleep"
    assert client.get_function_configuration(FunctionName="switch")["Handler"] == "app.sleep"
    assert read_payload(client.invoke(FunctionName="switch", Payload=b'{"ms": 5}'))["slept_ms"] == 5
