#!/usr/bin/env bash
# Runs the experiment tests: the example experiments under the real Chaos
# Toolkit and under `faultline run`, compared (tests/experiment/*.py).
# Installs the test clients first (scripts/install-test-clients.sh: quick when
# they are there); pytest comes from build/pyenv. FAULTLINE_BIN (default
# build/dev/src/cli/faultline) is passed through.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
bash scripts/install-test-clients.sh
export FAULTLINE_BIN="${FAULTLINE_BIN:-$root/build/dev/src/cli/faultline}"
python="$root/build/pyenv/bin/python"
"$python" -c 'import pytest' >/dev/null 2>&1 || python=python3
exec "$python" -m pytest -rs -p no:cacheprovider "$@" tests/experiment
