#!/usr/bin/env bash
# Installs what is missing, builds faultline (release) and runs
# `faultline demo`. Arguments go to the demo: scripts/demo.sh --list
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target faultline >/dev/null
exec build/release/src/cli/faultline demo "$@"
