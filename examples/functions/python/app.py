"""Example Python Lambda function for faultline's emulator.

Run through AWS's runtime interface client, unmodified:

    AWS_LAMBDA_RUNTIME_API=127.0.0.1:PORT python -m awslambdaric app.handler

(from this directory, or with it on PYTHONPATH). Handlers:

- ``app.handler``: echoes the event with the function name, request id,
  process id, memory size and the FAULTLINE_EXAMPLE_* variables.
- ``app.sleep``: sleeps ``event["ms"]`` milliseconds, then answers.
- ``app.error``: raises ``ValueError`` (an unhandled function error).
- ``app.chatty``: prints ``event["lines"]`` lines ("line 1 of N", ...), the
  last just before it returns.
- ``app.fds``: the descriptors the process holds (``/proc/self/fd``).
"""

import os
import time


def handler(event, context):
    print(f"echo handler invoked, request {context.aws_request_id}", flush=True)
    return {
        "echo": event,
        "function": context.function_name,
        "request_id": context.aws_request_id,
        "pid": os.getpid(),
        "memory_limit_in_mb": int(context.memory_limit_in_mb or 0),
        "env": {k: v for k, v in os.environ.items() if k.startswith("FAULTLINE_EXAMPLE_")},
    }


def sleep(event, context):
    ms = int((event or {}).get("ms", 0))
    print(f"sleeping {ms} ms", flush=True)
    time.sleep(ms / 1000.0)
    return {"slept_ms": ms, "request_id": context.aws_request_id}


class ExampleError(ValueError):
    pass


def error(event, context):
    message = (event or {}).get("message", "example failure")
    print(f"about to raise: {message}", flush=True)
    raise ExampleError(message)


def chatty(event, context):
    n = int((event or {}).get("lines", 1))
    for i in range(1, n + 1):
        print(f"line {i} of {n}")
    return {"lines": n}


def fds(event, context):
    out = []
    for name in sorted(os.listdir("/proc/self/fd"), key=int):
        try:
            out.append({"fd": int(name), "target": os.readlink(f"/proc/self/fd/{name}")})
        except OSError:
            pass  # the listing's own descriptor, closed by now
    return {"fds": out, "pid": os.getpid()}
