"""Response streaming through `faultline lambda serve`, checked by real
clients: boto3's invoke_with_response_stream (botocore parses the AWS event
stream and checks both CRCs of every message, so this is a protocol check)
against a C++ streaming function (examples/functions/cpp/stream.cc, on
faultline's runtime client) and a Node one (awslambda.streamifyResponse
under aws-lambda-ric); buffered invoke of the same functions; error trailers
mid-stream as function errors."""

import base64
import json

import pytest

from lambda_it import cpp_function, node_function, require_boto3


@pytest.fixture(scope="module")
def emu(module_emulator):
    require_boto3()
    return module_emulator(
        [
            cpp_function("cpp-stream", "stream"),
            cpp_function("cpp-echo", "echo"),
            cpp_function("cpp-slow", "sleep", timeout=1),
        ]
    )


def stream(client, name, payload, **kwargs):
    """(response, chunks, InvokeComplete) of invoke_with_response_stream."""
    resp = client.invoke_with_response_stream(FunctionName=name, Payload=json.dumps(payload), **kwargs)
    chunks, complete = [], None
    for event in resp["EventStream"]:
        if "PayloadChunk" in event:
            chunks.append(event["PayloadChunk"]["Payload"])
        elif "InvokeComplete" in event:
            complete = event["InvokeComplete"]
    return resp, chunks, complete


def test_cpp_streaming_function_streams_chunks(emu):
    client = emu.lambda_client()
    resp, chunks, complete = stream(client, "cpp-stream", {"chunks": 4, "ms": 20}, LogType="Tail")
    assert resp["StatusCode"] == 200
    assert resp["ExecutedVersion"] == "$LATEST"
    assert resp["ResponseStreamContentType"] == "application/vnd.amazon.eventstream"
    # Paced 20 ms apart, each chunk is its own event.
    assert chunks == [f"chunk {i}\n".encode() for i in range(1, 5)]
    assert complete is not None and "ErrorCode" not in complete
    assert "REPORT RequestId:" in base64.b64decode(complete["LogResult"]).decode()


def test_cpp_stream_error_trailers(emu):
    client = emu.lambda_client()
    _, chunks, complete = stream(client, "cpp-stream", {"chunks": 2, "fail": True})
    assert b"".join(chunks) == b"chunk 1\nchunk 2\n"
    assert complete["ErrorCode"] == "Function.StreamError"
    assert complete["ErrorDetails"] == "failed after 2 chunks"
    # Buffered invoke of the same: a function error with the error body.
    resp = client.invoke(FunctionName="cpp-stream", Payload=json.dumps({"chunks": 2, "fail": True}))
    assert resp["FunctionError"] == "Unhandled"
    assert json.loads(resp["Payload"].read())["errorType"] == "Function.StreamError"
    resp = client.invoke(FunctionName="cpp-stream", Payload=b'{"chunks": 2}')
    assert "FunctionError" not in resp
    assert resp["Payload"].read() == b"chunk 1\nchunk 2\n"


def test_non_streaming_function_and_timeout_through_the_stream_api(emu):
    client = emu.lambda_client()
    _, chunks, complete = stream(client, "cpp-echo", {"whole": [1, 2]})
    assert chunks == [b'{"whole": [1, 2]}']
    assert "ErrorCode" not in complete
    _, chunks, complete = stream(client, "cpp-slow", {"ms": 2000})
    assert chunks == []
    assert complete["ErrorCode"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in complete["ErrorDetails"]


def test_stream_api_errors_are_aws_errors(emu):
    client = emu.lambda_client()
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.invoke_with_response_stream(FunctionName="missing", Payload=b"{}")


def test_node_streamify_response(emulator, node_ric):
    require_boto3()
    emu = emulator([node_function(node_ric, "node-stream", "app.stream")])
    client = emu.lambda_client()
    resp, chunks, complete = stream(client, "node-stream", {"chunks": 3, "ms": 20})
    assert resp["StatusCode"] == 200
    assert b"".join(chunks) == b"chunk 1\nchunk 2\nchunk 3\n"
    assert complete is not None and "ErrorCode" not in complete, complete
    _, chunks, complete = stream(client, "node-stream", {"chunks": 2, "fail": True})
    assert b"".join(chunks) == b"chunk 1\nchunk 2\n"
    assert complete.get("ErrorCode"), complete
    resp = client.invoke(FunctionName="node-stream", Payload=b'{"chunks": 2}')
    assert resp["Payload"].read() == b"chunk 1\nchunk 2\n"
