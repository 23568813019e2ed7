# faultline's python provider worker, run as `python3 -c <this file>` by
# provider_python.cc: it calls activities' functions as chaoslib's
# run_python_activity does (chaoslib/provider/python.py) and checks them as
# its validate_python_activity does.
#
# Protocol: one JSON object per line. Requests on stdin (a socket):
#   {"id": 1, "op": "call", "module": m, "func": f, "arguments": {...},
#    "configuration": {...}, "secrets": {scope: {...}},
#    "provider_secrets": [scope, ...]}            (only when the provider has it)
#   {"id": 2, "op": "check", "module": m, "func": f, "arguments": {...}?}
# Replies on the original stdout, each with its request's id:
#   {"id": 1, "ok": true, "output": value}
#   {"id": 1, "ok": false, "error": msg, "exception": [lines]}
# Each request runs on a thread of its own (background activities and the
# continuous hypothesis call at the same time). User code's print() and
# anything written to fd 1 go to stderr, so replies stay whole. End of
# stdin ends the worker.
import datetime
import decimal
import importlib
import inspect
import json
import math
import os
import sys
import threading
import traceback
import uuid

# Kept in step with Providers::kMaxPythonReplyBytes.
MAX_REPLY = 64 << 20

_send_lock = threading.Lock()


def _encoder(o):
    # chaostoolkit's journal encoder (chaostoolkit/__init__.py).
    if isinstance(o, (datetime.date, datetime.datetime)):
        return o.isoformat()
    if isinstance(o, (decimal.Decimal, uuid.UUID)):
        return str(o)
    raise TypeError(f"Object of type '{type(o)}' is not JSON serializable")


def _finite(o):
    # NaN and infinities have no JSON form: null, as faultline's journal
    # would write them.
    if isinstance(o, float) and not math.isfinite(o):
        return None
    if isinstance(o, dict):
        return {k: _finite(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_finite(v) for v in o]
    return o


def _dumps(reply):
    try:
        return json.dumps(reply, default=_encoder, allow_nan=False)
    except ValueError:
        return json.dumps(_finite(reply), default=_encoder, allow_nan=False)


def _send(out, reply):
    try:
        line = _dumps(reply)
    except (TypeError, ValueError, RecursionError) as x:
        line = _dumps(_failure(
            reply["id"],
            "the function's return value cannot be written as JSON: " + str(x)))
    if len(line) > MAX_REPLY:
        line = _dumps(_failure(
            reply["id"],
            f"the function's return value is larger than {MAX_REPLY >> 20} MiB of JSON"))
    with _send_lock:
        out.write(line.encode("ascii") + b"\n")
        out.flush()


def _failure(rid, error, exception=None):
    reply = {"id": rid, "ok": False, "error": error}
    if exception is not None:
        reply["exception"] = exception
    return reply


def _exception_lines(x, msg):
    # What chaos's journal holds: the function's traceback (our own frame
    # left out, as chaoslib's is not ours to show), then the ActivityFailed
    # raised while handling it.
    tb = x.__traceback__.tb_next if x.__traceback__ is not None else None
    lines = traceback.format_exception(type(x), x, tb)
    lines.append("\nDuring handling of the above exception, another exception occurred:\n\n")
    lines.append(f"chaoslib.exceptions.ActivityFailed: {msg}\n")
    return lines


def _parameters(func):
    try:
        return inspect.signature(func).parameters
    except (TypeError, ValueError):
        return {}


def _call(req):
    rid = req["id"]
    module, name = req["module"], req["func"]
    try:
        func = getattr(importlib.import_module(module), name)
    except Exception as x:
        msg = traceback.format_exception_only(type(x), x)[0].strip()
        return _failure(rid, f"could not load {name} from Python module '{module}': {msg}")
    arguments = req.get("arguments")
    arguments = {} if arguments is None else arguments.copy()
    params = _parameters(func)
    if "provider_secrets" in req and "secrets" in params:
        secrets = req.get("secrets") or {}
        arguments["secrets"] = {}
        for scope in req["provider_secrets"]:
            arguments["secrets"].update(dict(secrets.get(scope, {})))
    if "configuration" in params:
        arguments["configuration"] = dict(req.get("configuration") or {})
    try:
        output = func(**arguments)
    except BaseException as x:
        msg = traceback.format_exception_only(type(x), x)[0].strip()
        return _failure(rid, msg, _exception_lines(x, msg))
    return {"id": rid, "ok": True, "output": output}


def _bind_problem(func, arguments):
    sig = inspect.signature(func)
    args = dict(arguments)
    if "secrets" in sig.parameters:
        args["secrets"] = None
    if "configuration" in sig.parameters:
        args["configuration"] = None
    try:
        sig.bind(**args)
    except TypeError as x:
        msg = str(x)
        if "missing" in msg:
            return f"required argument {msg.rsplit(':', 1)[1].strip()} is missing"
        if "unexpected" in msg:
            return (f"argument {msg.rsplit(' ', 1)[1].strip()} is not part of the "
                    "function signature")
        return msg
    return None


def _check(req):
    rid = req["id"]
    module, name = req["module"], req["func"]
    try:
        mod = importlib.import_module(module)
    except ImportError as x:
        return _failure(rid, f"could not find Python module '{module}': {x}")
    except Exception as x:
        msg = traceback.format_exception_only(type(x), x)[0].strip()
        return _failure(rid, f"could not import Python module '{module}': {msg}")
    # chaoslib looks among the module's functions and builtins only.
    candidates = dict(inspect.getmembers(mod, inspect.isfunction))
    candidates.update(inspect.getmembers(mod, inspect.isbuiltin))
    if name not in candidates:
        return _failure(
            rid, f"the python module '{module}' does not expose a function called '{name}'")
    if req.get("arguments") is not None:
        try:
            problem = _bind_problem(candidates[name], req["arguments"])
        except (TypeError, ValueError) as x:
            problem = str(x)
        if problem:
            return _failure(rid, problem)
    return {"id": rid, "ok": True}


def _handle(out, req):
    rid = req.get("id")
    try:
        reply = _check(req) if req.get("op") == "check" else _call(req)
    except BaseException as x:  # a bug of ours: say so rather than hang the caller
        reply = _failure(rid, f"the python worker failed: {x!r}")
    _send(out, reply)


def main():
    out = os.fdopen(os.dup(1), "wb", buffering=0)
    inp = os.fdopen(os.dup(0), "rb")
    os.dup2(2, 1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    sys.stdout = sys.stderr
    # `python3 -c` puts the working directory first in sys.path; the chaos
    # script has its own directory there instead, so a module in the
    # working directory is not importable by chaos either.
    if sys.path and sys.path[0] == "":
        del sys.path[0]
    for line in inp:
        try:
            req = json.loads(line)
        except ValueError:
            continue
        threading.Thread(target=_handle, args=(out, req), daemon=True).start()
    sys.stderr.flush()
    os._exit(0)


main()
