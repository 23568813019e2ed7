"""botocore's SigV4 signatures against faultline's Verify.

Requests are signed by botocore itself (SigV4Auth on an AWSRequest, and a
real boto3 Lambda client whose prepared requests are captured before they
are sent), written out as HTTP/1.1 text and checked with
faultline_sigv4_check (argv[1]): each must be accepted, and each tampered
copy (body, path, query, a signed header, the date, the signature, the
secret, the clock) refused with AWS's error type.
"""

import datetime
import os
import subprocess
import sys
import tempfile
import urllib.parse

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.credentials

CHECKER = sys.argv[1]
KEY = "AKIAFAULTLINE0000001"
SECRET = "fAuLtLiNeSeCrEt/0123456789+abcdefghijklm"
REGION = "us-east-1"
ENDPOINT = "http://127.0.0.1:9001"  # never contacted: requests are captured

failures = []
tmp = tempfile.mkdtemp(prefix="faultline-sigv4-interop-")


def to_file(name, method, url, headers, body):
    """Writes the request as urllib3 would send it (Host from the URL)."""
    parts = urllib.parse.urlsplit(url)
    target = parts.path + ("?" + parts.query if parts.query else "")
    lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += [f"{k}: {v}" for k, v in headers.items() if k.lower() != "host"]
    if isinstance(body, str):
        body = body.encode()
    path = os.path.join(tmp, name + ".req")
    with open(path, "wb") as f:
        f.write(("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b""))
    return path


def check(path, *extra):
    cmd = [CHECKER, "--access-key-id", KEY, "--secret", SECRET, "--service", "lambda", *extra, path]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    return out.returncode, out.stdout.strip()


def expect(what, path, want_rc, want_text, *extra):
    rc, out = check(path, *extra)
    ok = rc == want_rc and want_text in out
    print(("ok   " if ok else "FAIL ") + what + ("" if ok else f": rc={rc} out={out!r}"))
    if not ok:
        failures.append(what)


def exercise(name, method, url, headers, body):
    """The signed request is accepted; every tampered copy is refused."""
    headers = dict(headers)
    expect(f"{name}: accepted", to_file(name, method, url, headers, body), 0, "accepted " + KEY)
    mismatch = "InvalidSignatureException: The request signature we calculated does not match"
    if body:
        expect(f"{name}: tampered body", to_file(name + "-body", method, url, headers,
                                                 body[:-1] + (b"!" if isinstance(body, bytes) else "!")),
               1, mismatch)
    parts = urllib.parse.urlsplit(url)
    other_path = parts._replace(path=parts.path.replace("/functions", "/functionz")).geturl()
    expect(f"{name}: tampered path", to_file(name + "-path", method, other_path, headers, body),
           1, mismatch)
    other_query = parts._replace(query=(parts.query + "&" if parts.query else "") + "x=1").geturl()
    expect(f"{name}: tampered query", to_file(name + "-query", method, other_query, headers, body),
           1, mismatch)
    dated = dict(headers)
    stamp = datetime.datetime.strptime(dated["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
    dated["X-Amz-Date"] = (stamp + datetime.timedelta(seconds=1)).strftime("%Y%m%dT%H%M%SZ")
    expect(f"{name}: tampered X-Amz-Date", to_file(name + "-date", method, url, dated, body),
           1, mismatch)
    if "X-Amz-Invocation-Type" in headers:
        retyped = dict(headers)
        retyped["X-Amz-Invocation-Type"] = "DryRun"
        expect(f"{name}: tampered X-Amz-Invocation-Type",
               to_file(name + "-type", method, url, retyped, body), 1, mismatch)
    resigned = dict(headers)
    auth = resigned["Authorization"]
    resigned["Authorization"] = auth[:-1] + ("0" if auth[-1] != "0" else "1")
    expect(f"{name}: tampered signature", to_file(name + "-sig", method, url, resigned, body),
           1, mismatch)
    path = to_file(name, method, url, headers, body)
    rc, out = check_with_secret(path, SECRET[::-1])
    ok = rc == 1 and mismatch in out
    print(("ok   " if ok else "FAIL ") + f"{name}: wrong secret")
    if not ok:
        failures.append(f"{name}: wrong secret")
    later = (stamp + datetime.timedelta(minutes=5, seconds=1)).strftime("%Y%m%dT%H%M%SZ")
    expect(f"{name}: clock 5 min 1 s later", path, 1,
           "InvalidSignatureException: Signature expired: " + headers["X-Amz-Date"], "--now", later)


def check_with_secret(path, secret):
    out = subprocess.run([CHECKER, "--access-key-id", KEY, "--secret", secret, "--service",
                          "lambda", path], capture_output=True, text=True, timeout=30)
    return out.returncode, out.stdout.strip()


def sigv4auth_request():
    """SigV4Auth on a hand-made AWSRequest: a path with %3A and $LATEST."""
    creds = botocore.credentials.Credentials(KEY, SECRET)
    url = ENDPOINT + "/2015-03-31/functions/my%3Afn%3A%24LATEST/invocations?Qualifier=%24LATEST"
    req = botocore.awsrequest.AWSRequest(
        method="POST", url=url, data=b'{"hello": "world"}',
        headers={"Content-Type": "application/json", "X-Amz-Invocation-Type": "RequestResponse"})
    botocore.auth.SigV4Auth(creds, "lambda", REGION).add_auth(req)
    prepared = req.prepare()
    headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in prepared.headers.items()}
    return prepared.method, prepared.url, headers, prepared.body


class Captured(Exception):
    pass


def boto3_requests():
    """What a real boto3 Lambda client sends, captured at before-send."""
    client = boto3.client("lambda", region_name=REGION, endpoint_url=ENDPOINT,
                          aws_access_key_id=KEY, aws_secret_access_key=SECRET)
    seen = []

    def capture(request, **_):
        headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
        seen.append((request.method, request.url, headers, request.body))
        raise Captured()

    client.meta.events.register("before-send", capture)
    calls = [
        lambda: client.invoke(FunctionName="echo", Qualifier="$LATEST", Payload=b'{"a": 1}'),
        lambda: client.invoke(FunctionName="arn:aws:lambda:us-east-1:123456789012:function:echo",
                              InvocationType="Event", Payload=b"{}"),
        lambda: client.get_function(FunctionName="echo:$LATEST"),
        lambda: client.list_functions(MaxItems=5),
        lambda: client.put_function_concurrency(FunctionName="echo",
                                                ReservedConcurrentExecutions=1),
    ]
    for call in calls:
        try:
            call()
        except Captured:
            pass
    return seen


def main():
    exercise("sigv4auth", *sigv4auth_request())
    captured = boto3_requests()
    if len(captured) != 5:
        failures.append(f"captured {len(captured)} boto3 requests, expected 5")
    for i, (method, url, headers, body) in enumerate(captured):
        print(f"--- boto3 request {i}: {method} {url}")
        exercise(f"boto3-{i}", method, url, headers, body)
    print(f"{len(failures)} failed" if failures else "all passed")
    sys.exit(1 if failures else 0)


main()
