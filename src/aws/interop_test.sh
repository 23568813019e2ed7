#!/usr/bin/env bash
# botocore signs Lambda requests; faultline's Verify (through
# faultline_sigv4_check) must accept them and refuse tampered copies:
#   src/aws/interop_test.sh path/to/faultline_sigv4_check
# Uses build/pyenv's Python (scripts/install-test-clients.sh installs the
# pinned botocore there), else python3 if it has botocore; exits 77 (skipped)
# when neither does.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
checker="${1:?usage: interop_test.sh FAULTLINE_SIGV4_CHECK}"
for py in "$root/build/pyenv/bin/python" python3; do
  if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import botocore, boto3' >/dev/null 2>&1; then
    exec "$py" "$here/interop_test.py" "$checker"
  fi
done
echo "interop_test: skipped: no Python with boto3 and botocore (run scripts/install-test-clients.sh)" >&2
exit 77
