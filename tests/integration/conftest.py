"""Fixtures for the integration tests: faultline's Lambda emulator driven by
real, unmodified clients (awslambdaric, aws-lambda-ric, boto3).

The clients are installed by scripts/install-test-clients.sh (tests/integration/run.sh
runs it). A client that could not be installed leaves
build/test-clients/<client>.unavailable with the reason; the tests that need it
are skipped with that reason, so `pytest -rs` prints it.

The emulator binary comes from $FAULTLINE_BIN (default build/dev/src/cli/faultline).
Everything listens on 127.0.0.1 only, and every wait is bounded.
"""

from __future__ import annotations

import shutil

import pytest

from lambda_it import (
    NODE_APP_DIR,
    Emulator,
    _python_with_awslambdaric,
    skip_if_unavailable,
    start_emulator,
)


@pytest.fixture(scope="session")
def python_ric() -> str:
    """The interpreter that has awslambdaric (skips with the reason otherwise)."""
    skip_if_unavailable("awslambdaric")
    py = _python_with_awslambdaric()
    if py is None:
        pytest.skip(
            "awslambdaric not installed (neither the running interpreter nor "
            "build/pyenv can import it); run scripts/install-test-clients.sh"
        )
    return py


@pytest.fixture(scope="session")
def node_ric() -> str:
    """Path of aws-lambda-ric's executable (skips with the reason otherwise).

    The bin is a node script run directly (not through npx): npx forwards no
    SIGTERM to its child, which would outlive the environment it belongs to.
    """
    skip_if_unavailable("aws-lambda-ric")
    if shutil.which("node") is None:
        pytest.skip("aws-lambda-ric unavailable: node is not on PATH")
    ric = NODE_APP_DIR / "node_modules" / ".bin" / "aws-lambda-ric"
    native = NODE_APP_DIR / "node_modules" / "aws-lambda-ric" / "dist" / "rapid-client.node"
    if not ric.exists() or not native.exists():
        pytest.skip(
            "aws-lambda-ric not installed in examples/functions/node/node_modules; "
            "run scripts/install-test-clients.sh"
        )
    return str(ric)


@pytest.fixture
def emulator(tmp_path):
    """Factory: emulator(functions) starts `faultline lambda serve` on a free
    loopback port with those functions; it is stopped at teardown."""
    started: list[Emulator] = []

    def start(functions: list[dict], args: tuple = (), top: str = "") -> Emulator:
        emu = start_emulator(tmp_path / f"emulator{len(started)}", functions, args, top)
        started.append(emu)
        return emu

    yield start
    for emu in started:
        emu.stop()


@pytest.fixture(scope="module")
def module_emulator(tmp_path_factory):
    """Like `emulator`, but lives for the whole test module (for tests that
    only invoke, and change no configuration)."""
    started: list[Emulator] = []

    def start(functions: list[dict]) -> Emulator:
        emu = start_emulator(tmp_path_factory.mktemp("emulator"), functions)
        started.append(emu)
        return emu

    yield start
    for emu in started:
        emu.stop()
