#!/usr/bin/env bash
# Runs the integration tests against real Lambda clients:
#   tests/integration/run.sh [pytest args...]
# Installs the clients first (scripts/install-test-clients.sh: quiet and quick
# when they are already there), then runs pytest from build/pyenv with -rs, so
# each skipped test prints why (an uninstallable client says so). FAULTLINE_BIN
# (default build/dev/src/cli/faultline) is passed through to the tests.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

bash scripts/install-test-clients.sh

export FAULTLINE_BIN="${FAULTLINE_BIN:-$root/build/dev/src/cli/faultline}"

python="$root/build/pyenv/bin/python"
if ! "$python" -c 'import pytest' >/dev/null 2>&1; then
  # The venv could not be made: run with the machine's Python so that the tests
  # still run and skip with the reasons recorded in build/test-clients/.
  echo "run.sh: build/pyenv has no pytest (see build/test-clients/); using python3" >&2
  python=python3
fi

# INTEGRATION_TESTS: which files (default the whole folder); ctest runs the
# suite as two tests that overlap, the platform experiments being one.
# shellcheck disable=SC2086
exec "$python" -m pytest -rs -p no:cacheprovider "$@" ${INTEGRATION_TESTS:-tests/integration}
