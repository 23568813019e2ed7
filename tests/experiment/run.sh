#!/usr/bin/env bash
# Runs the experiment tests: the example experiments under the real Chaos
# Toolkit and under `faultline run`, compared (tests/experiment/*.py), with
# the integration tests' runner (which installs the test clients and picks
# build/pyenv's pytest and FAULTLINE_BIN).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
INTEGRATION_TESTS=tests/experiment exec "$root/tests/integration/run.sh" "$@"
