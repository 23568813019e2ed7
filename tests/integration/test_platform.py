"""The platform where experiments look, driven by AWS's own clients (boto3,
the aws CLI) and real functions (awslambdaric): reserved concurrency applied
at once whatever is warm, the classic throttling experiment under
`faultline load`, logs, Invoke input, versions and aliases, asynchronous
invocation with destinations, function URLs, and nobody else at the controls.
"""

from __future__ import annotations

import base64
import json
import math
import os
import shutil
import signal
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from lambda_it import (
    HOST,
    faultline_bin,
    python_function,
    read_payload,
    require_boto3,
    throttles_metric,
)

REASON = "ReservedFunctionConcurrentInvocationLimitExceeded"


def error_code(exc) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def wait_for(predicate, timeout_s: float = 10.0, what: str = "condition"):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def concurrent(emu, name, n):
    return json.loads(emu.request("GET", "/metrics.json").body)["functions"][name]["ConcurrentExecutions"] >= n


def test_reserved_concurrency_applies_at_once_to_warm_environments(emulator, python_ric):
    require_boto3()
    emu = emulator([python_function(python_ric, "warm", "app.sleep", timeout=10)])
    client = emu.lambda_client()
    threads = [threading.Thread(target=client.invoke, kwargs={"FunctionName": "warm",
                                                            "Payload": b'{"ms": 400}'}) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Three warm, idle environments now; 0 throttles every call.
    client.put_function_concurrency(FunctionName="warm", ReservedConcurrentExecutions=0)
    with pytest.raises(client.exceptions.TooManyRequestsException) as info:
        client.invoke(FunctionName="warm", Payload=b'{"ms": 1}')
    assert info.value.response.get("Reason") == REASON
    # 1: one at a time, however many are warm.
    client.put_function_concurrency(FunctionName="warm", ReservedConcurrentExecutions=1)
    holder = threading.Thread(target=client.invoke,
                              kwargs={"FunctionName": "warm", "Payload": b'{"ms": 2000}'})
    holder.start()
    wait_for(lambda: concurrent(emu, "warm", 1), what="one invocation running")
    with pytest.raises(client.exceptions.TooManyRequestsException):
        client.invoke(FunctionName="warm", Payload=b'{"ms": 1}')
    client.delete_function_concurrency(FunctionName="warm")
    assert client.invoke(FunctionName="warm", Payload=b'{"ms": 1}')["StatusCode"] == 200
    holder.join()


def test_account_settings_and_the_unreserved_minimum_with_the_aws_cli(emulator, python_ric):
    emu = emulator([python_function(python_ric, "acct")])
    settings = json.loads(emu.aws("get-account-settings").stdout)
    assert settings["AccountLimit"]["ConcurrentExecutions"] == 1000
    assert settings["AccountLimit"]["UnreservedConcurrentExecutions"] == 1000
    refused = emu.aws("put-function-concurrency", "--function-name", "acct",
                      "--reserved-concurrent-executions", "901", check=False)
    assert refused.returncode != 0
    assert "InvalidParameterValueException" in refused.stderr
    assert "below its minimum value of [100]" in refused.stderr
    emu.aws("put-function-concurrency", "--function-name", "acct",
            "--reserved-concurrent-executions", "900")
    settings = json.loads(emu.aws("get-account-settings").stdout)
    assert settings["AccountLimit"]["UnreservedConcurrentExecutions"] == 100


def run_load(url: str, seconds: int, out: Path) -> subprocess.Popen:
    return subprocess.Popen([str(faultline_bin()), "load", "-c", "4", "-d", str(seconds), "--json", url],
                            stdout=open(out, "w"), stderr=subprocess.PIPE)


def test_the_classic_concurrency_experiment_under_load(emulator, python_ric, tmp_path):
    """AWS's FIS / Chaos Toolkit demo, locally: under load on a function URL,
    put-function-concurrency 1 makes throttles appear within a second, in the
    load summary and in /metrics; delete-function-concurrency stops them.

    The load runs until it is interrupted, two and a half seconds after the
    delete returned, however long the aws CLI took (seconds under a
    sanitizer on a busy machine): the seconds of its series that began after
    the delete returned must hold no throttle."""
    emu = emulator([python_function(python_ric, "api", "app.sleep", timeout=10)])
    url = json.loads(emu.aws("create-function-url-config", "--function-name", "api",
                             "--auth-type", "NONE").stdout)["FunctionUrl"]
    report = tmp_path / "load.json"
    started = time.monotonic()
    load = run_load(url, 60, report)
    try:
        time.sleep(2)
        emu.aws("put-function-concurrency", "--function-name", "api",
                "--reserved-concurrent-executions", "1")
        wait_for(lambda: throttles_metric(emu, "api")[0] > 0, timeout_s=1.0,
                 what="throttles in /metrics within a second")
        time.sleep(1)
        emu.aws("delete-function-concurrency", "--function-name", "api")
        lifted = time.monotonic() - started
        after = throttles_metric(emu, "api")[0]
        time.sleep(2.5)
    finally:
        load.send_signal(signal.SIGINT)
        _, err = load.communicate(timeout=30)
    assert load.returncode == 130, err
    result = json.loads(report.read_text())
    assert result["interrupted"] == "SIGINT"
    assert result["responses"]["by_status"].get("429", 0) > 0, result["responses"]
    assert result["responses"]["by_status"].get("200", 0) > 0
    seconds = result["series"]
    assert seconds[0]["http_errors"] == 0, "no throttle before the reservation"
    # The load started after `started`, so its second k began after
    # started + k: those with k >= lifted began after the delete returned.
    later = [s for s in seconds if s["second"] >= math.ceil(lifted)]
    assert later and sum(s["responses"] for s in later) > 0, seconds
    assert all(s["http_errors"] == 0 for s in later), later
    assert throttles_metric(emu, "api")[0] == after, "throttles stop once the limit is deleted"


def test_every_line_before_the_answer_is_in_the_tail(emulator, python_ric):
    require_boto3()
    emu = emulator([python_function(python_ric, "chatty", "app.chatty")])
    client = emu.lambda_client()
    for _ in range(20):
        resp = client.invoke(FunctionName="chatty", Payload=b'{"lines": 300}', LogType="Tail")
        tail = base64.b64decode(resp["LogResult"]).decode()
        end = tail.find("END RequestId: " + resp["ResponseMetadata"]["RequestId"])
        last = tail.find("line 300 of 300")
        assert last != -1 and end != -1 and last < end, tail[-600:]


def test_a_payload_that_is_not_json_is_refused(emulator, python_ric):
    require_boto3()
    emu = emulator([python_function(python_ric, "strict")])
    client = emu.lambda_client()
    with pytest.raises(client.exceptions.InvalidRequestContentException):
        client.invoke(FunctionName="strict", Payload=b"not json")
    assert json.loads(emu.request("GET", "/metrics.json").body)["functions"]["strict"]["Invocations"] == 0


def test_versions_aliases_and_a_weighted_canary_with_boto3(emulator, python_ric):
    require_boto3()
    emu = emulator([python_function(python_ric, "canary", environment={"FAULTLINE_EXAMPLE_V": "one"})],
                   args=("--seed", "7"))
    client = emu.lambda_client()
    v1 = client.publish_version(FunctionName="canary")["Version"]
    client.update_function_configuration(FunctionName="canary", Description="second",
                                         Environment={"Variables": {"FAULTLINE_EXAMPLE_V": "two"}})
    v2 = client.publish_version(FunctionName="canary")["Version"]
    assert (v1, v2) == ("1", "2")
    assert client.get_function_configuration(FunctionName="canary")["Description"] == "second"
    client.create_alias(FunctionName="canary", Name="live", FunctionVersion=v1,
                        RoutingConfig={"AdditionalVersionWeights": {v2: 0.5}})
    seen = {}
    for _ in range(30):
        resp = client.invoke(FunctionName="canary", Qualifier="live", Payload=b"{}")
        env = read_payload(resp)["env"]["FAULTLINE_EXAMPLE_V"]
        seen.setdefault(resp["ExecutedVersion"], set()).add(env)
    assert seen == {"1": {"one"}, "2": {"two"}}
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.invoke(FunctionName="canary", Qualifier="nope", Payload=b"{}")
    aliases = client.list_aliases(FunctionName="canary")["Aliases"]
    assert [a["Name"] for a in aliases] == ["live"]
    versions = client.list_versions_by_function(FunctionName="canary")["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", "1", "2"]


def test_failed_events_retry_and_reach_their_destination(emulator, python_ric, tmp_path):
    require_boto3()
    sinks = tmp_path / "sinks"
    emu = emulator([python_function(python_ric, "flaky", "app.error")],
                   args=("--time-scale", "0.001", "--sinks-dir", str(sinks)))
    client = emu.lambda_client()
    client.put_function_event_invoke_config(
        FunctionName="flaky", MaximumRetryAttempts=2,
        DestinationConfig={"OnFailure": {"Destination": "arn:aws:sqs:us-east-1:000000000000:dead"}})
    resp = client.invoke(FunctionName="flaky", InvocationType="Event", Payload=b'{"order": 1}')
    assert resp["StatusCode"] == 202
    sink = sinks / "dead.jsonl"
    wait_for(lambda: sink.exists() and sink.read_text().strip(), what="the OnFailure record")
    record = json.loads(sink.read_text().splitlines()[0])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestContext"]["requestId"] == resp["ResponseMetadata"]["RequestId"]
    assert record["responsePayload"]["errorType"] == "ExampleError"
    config = client.get_function_event_invoke_config(FunctionName="flaky")
    assert config["DestinationConfig"]["OnFailure"]["Destination"].endswith(":dead")


def test_a_function_url_serves_http(emulator, python_ric):
    require_boto3()
    emu = emulator([python_function(python_ric, "web")])
    client = emu.lambda_client()
    url = client.create_function_url_config(FunctionName="web", AuthType="NONE")["FunctionUrl"]
    assert url.startswith(f"http://{HOST}:")
    with urllib.request.urlopen(url + "orders/7?x=1", timeout=30) as r:
        assert r.status == 200
        assert r.headers["x-amzn-RequestId"]
        event = json.loads(r.read())["echo"]
    assert event["version"] == "2.0"
    assert event["rawPath"] == "/orders/7"
    assert event["queryStringParameters"] == {"x": "1"}
    assert event["requestContext"]["http"]["method"] == "GET"
    assert client.get_function_url_config(FunctionName="web")["InvokeMode"] == "BUFFERED"


def test_a_function_holds_only_its_own_descriptors(emulator, python_ric):
    require_boto3()
    emu = emulator([python_function(python_ric, "fds", "app.fds"),
                    python_function(python_ric, "other", "app.sleep")])
    client = emu.lambda_client()
    busy = threading.Thread(target=client.invoke,
                            kwargs={"FunctionName": "other", "Payload": b'{"ms": 1500}'})
    busy.start()
    wait_for(lambda: concurrent(emu, "other", 1), what="the other function running")
    fds = read_payload(client.invoke(FunctionName="fds", Payload=b"{}"))["fds"]
    busy.join()
    # Whatever the runtime client opened itself is its own; what matters is
    # that no socket of the emulator's (its listeners, another environment's
    # Runtime API, a caller's connection) is shared with the function.
    mine = {f["target"] for f in fds if f["target"].startswith("socket:")}
    emulators = set()
    for fd in Path(f"/proc/{emu.process.pid}/fd").iterdir():
        try:
            emulators.add(os.readlink(fd))
        except OSError:
            pass
    assert mine and not (mine & emulators), (mine, emulators)
    assert [f["fd"] for f in fds][:3] == [0, 1, 2]


def as_nobody(*cmd: str) -> subprocess.CompletedProcess:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run a command as another local user")
    return subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *cmd],
                          capture_output=True, text=True, timeout=60)


def test_another_local_user_cannot_drive_the_emulator(emulator, python_ric):
    require_boto3()
    emu = emulator([python_function(python_ric, "mine")])
    client = emu.lambda_client()
    before = client.get_function_configuration(FunctionName="mine")
    creds = emu.credentials_dir / "credentials"
    assert (creds.stat().st_mode & 0o077) == 0
    cat = as_nobody("cat", str(creds))
    assert cat.returncode != 0, "the credentials must be unreadable to others"
    # Nobody, with the emulator's address, tries to set LD_PRELOAD.
    body = json.dumps({"Environment": {"Variables": {"LD_PRELOAD": "/tmp/evil.so"}}})
    attempt = as_nobody("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT",
                        "-d", body, f"{emu.endpoint}/2015-03-31/functions/mine/configuration")
    assert attempt.stdout == "403", attempt
    invoke = as_nobody("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
                       "-d", "{}", f"{emu.endpoint}/2015-03-31/functions/mine/invocations")
    assert invoke.stdout == "403", invoke
    after = client.get_function_configuration(FunctionName="mine")
    assert after["Environment"] == before["Environment"]
    assert after["RevisionId"] == before["RevisionId"]
