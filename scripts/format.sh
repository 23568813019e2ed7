#!/usr/bin/env bash
# clang-format over every C and C++ file of the project.
#   scripts/format.sh          rewrite files in place
#   scripts/format.sh --check  change nothing; fail and list what differs
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files --cached --others --exclude-standard \
  '*.cc' '*.h' '*.c' | grep -v '^build/')
[ ${#files[@]} -eq 0 ] && exit 0
if [ "${1:-}" = "--check" ]; then
  clang-format --dry-run --Werror "${files[@]}"
  echo "clang-format: ${#files[@]} files formatted"
else
  clang-format -i "${files[@]}"
fi
