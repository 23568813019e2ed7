"""Python probes and actions for the example experiments.

Both `chaos run` and `faultline run` import this module (put this folder on
PYTHONPATH), so the same experiment runs unmodified under either."""

import json
import os
import time


def read_counter(path: str) -> int:
    """The number stored in `path`, 0 when there is none."""
    try:
        with open(path) as f:
            return int(f.read().strip() or 0)
    except FileNotFoundError:
        return 0


def write_counter(path: str, value: int = 0) -> int:
    with open(path, "w") as f:
        f.write(str(value))
    return value


def service_health(path: str, configuration: dict = None, secrets: dict = None) -> dict:
    """A health document, as a service's /health would answer."""
    token = (secrets or {}).get("token", "")  # the scopes the provider names, merged
    return {
        "status": "ok" if os.path.exists(path) else "down",
        "region": (configuration or {}).get("region", "unknown"),
        "authenticated": token != "",
        "checks": [{"name": "db", "latency_ms": 12}, {"name": "cache", "latency_ms": 3}],
    }


def as_text(value) -> str:
    return str(value)


def at_least(value: int = 0, minimum: int = 1) -> bool:
    """A probe used as a tolerance: is the measured value at least `minimum`?"""
    return value >= minimum


def fails(message: str = "the dependency is down"):
    raise RuntimeError(message)


def slow(seconds: float = 0.2) -> float:
    time.sleep(seconds)
    return seconds


def as_json(path: str) -> str:
    with open(path) as f:
        return json.dumps(json.load(f))
