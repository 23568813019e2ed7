#!/usr/bin/env bash
# Installs the real Lambda clients the integration tests (tests/integration)
# drive faultline's emulator with, into project-local places only:
#   build/pyenv                          Python venv: awslambdaric, boto3, pytest, the aws CLI
#                                        (pins in tests/integration/requirements.txt)
#   build/chaosenv                       Python venv: the real Chaos Toolkit (chaos), to
#                                        compare with (pins in tests/experiment/requirements.txt)
#   examples/functions/node/node_modules aws-lambda-ric via `npm ci` from the
#                                        committed package-lock.json
# aws-lambda-ric compiles curl and aws-lambda-cpp with node-gyp; the Debian
# packages that needs are installed with apt-get when missing.
#
# Idempotent: when everything is in place it prints nothing and returns at once.
# It never fails because a client cannot be installed: it writes the reason to
# build/test-clients/<client>.unavailable (and the full log beside it, as
# <client>.log), and the tests skip with that reason. A later run tries again
# and removes the file once the client installs.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
status_dir="$root/build/test-clients"
venv="$root/build/pyenv"
requirements="$root/tests/integration/requirements.txt"
chaos_venv="$root/build/chaosenv"
chaos_requirements="$root/tests/experiment/requirements.txt"
node_dir="$root/examples/functions/node"
# Every step is bounded in time.
apt_timeout=900
pip_timeout=900
npm_timeout=1200

mkdir -p "$status_dir"

# One installer at a time (tests started in parallel would otherwise race).
exec 9>"$status_dir/.lock"
if ! flock -w 1800 9; then
  echo "install-test-clients: another install held the lock for 30 min; going on without it" >&2
fi

say() { echo "install-test-clients: $*" >&2; }

# unavailable NAME REASON [LOG]: records why a client is missing.
unavailable() {
  local name="$1" reason="$2" log="${3:-}"
  {
    echo "$reason"
    if [ -n "$log" ] && [ -s "$log" ]; then
      echo "--- last lines of $log ---"
      tail -n 15 "$log"
    fi
  } >"$status_dir/$name.unavailable"
  say "$name unavailable: $reason (see $status_dir/$name.unavailable)"
}
available() { rm -f "$status_dir/$1.unavailable"; }

# --- Debian packages that the native builds need -----------------------------
# build-essential (g++, make), cmake, autoconf/automake/libtool (curl's
# buildconf), unzip, python3 (node-gyp). libcurl is not needed: aws-lambda-ric
# builds its own curl.
apt_packages=(build-essential cmake autoconf automake libtool unzip python3)
missing=()
for p in "${apt_packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  if ! { timeout "$apt_timeout" $sudo apt-get update -qq &&
    timeout "$apt_timeout" $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"; } \
    >"$status_dir/apt.log" 2>&1; then
    say "apt-get failed (see $status_dir/apt.log); native builds may fail"
  fi
fi

# --- Python: build/pyenv --------------------------------------------------------
py_clients=(awslambdaric boto3 pytest awscli)
python_ok() {
  [ -x "$venv/bin/python" ] || return 1
  [ "$(cat "$venv/.faultline-stamp" 2>/dev/null)" = "$1" ] || return 1
  "$venv/bin/python" -c 'import awslambdaric, runtime_client, boto3, pytest, awscli' >/dev/null 2>&1
}
install_python() {
  local log="$status_dir/pyenv.log" stamp
  local py="${PYTHON:-python3}"
  if ! command -v "$py" >/dev/null 2>&1; then
    for c in "${py_clients[@]}"; do unavailable "$c" "no $py on PATH to create build/pyenv"; done
    return
  fi
  # The venv is not relocatable: the stamp names its path, the interpreter and
  # the pins, so a change of any of them reinstalls.
  stamp="$venv $("$py" -c 'import sys; print(sys.version.split()[0], sys.executable)' 2>/dev/null) $(sha256sum "$requirements" | cut -c1-16)"
  if python_ok "$stamp"; then
    for c in "${py_clients[@]}"; do available "$c"; done
    return
  fi
  say "creating $venv and installing $(grep -v '^#' "$requirements" | xargs)"
  rm -rf "$venv"
  if ! timeout 300 "$py" -m venv "$venv" >"$log" 2>&1; then
    for c in "${py_clients[@]}"; do unavailable "$c" "python3 -m venv build/pyenv failed" "$log"; done
    return
  fi
  export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
  if timeout "$pip_timeout" "$venv/bin/pip" install -q -r "$requirements" >>"$log" 2>&1; then
    :
  else
    # Install what can be installed, one pinned client at a time, so that one
    # failure (say, awslambdaric's native build) leaves the others usable.
    say "pip install -r failed; trying each client on its own"
    local spec
    while read -r spec; do
      case "$spec" in '' | \#*) continue ;; esac
      timeout "$pip_timeout" "$venv/bin/pip" install -q "$spec" >>"$log" 2>&1 ||
        say "pip install $spec failed"
    done <"$requirements"
  fi
  local ok=1
  for c in "${py_clients[@]}"; do
    local mod="$c"
    [ "$c" = awslambdaric ] && mod="awslambdaric, runtime_client"
    if "$venv/bin/python" -c "import $mod" >>"$log" 2>&1; then
      available "$c"
    else
      ok=0
      unavailable "$c" "pip could not install $(grep -E "^$c==" "$requirements" || echo "$c") into build/pyenv" "$log"
    fi
  done
  [ $ok -eq 1 ] && echo "$stamp" >"$venv/.faultline-stamp"
}

# --- Node: examples/functions/node/node_modules --------------------------------
node_ok() {
  [ "$(cat "$node_dir/node_modules/.faultline-stamp" 2>/dev/null)" = "$1" ] || return 1
  [ -f "$node_dir/node_modules/aws-lambda-ric/dist/rapid-client.node" ] || return 1
  [ -x "$node_dir/node_modules/.bin/aws-lambda-ric" ]
}
install_node() {
  local log="$status_dir/aws-lambda-ric.log" stamp
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    unavailable aws-lambda-ric "node and npm are not on PATH"
    return
  fi
  stamp="$node_dir $(node --version) $(cat "$node_dir/package.json" "$node_dir/package-lock.json" | sha256sum | cut -c1-16)"
  if node_ok "$stamp"; then
    available aws-lambda-ric
    return
  fi
  say "installing aws-lambda-ric into $node_dir/node_modules (npm ci; compiles native code, about a minute or two)"
  # aws-lambda-ric's preinstall/postinstall scripts build its native part;
  # package.json's allowScripts lets them run on npm versions that block
  # dependency install scripts by default.
  if (cd "$node_dir" && timeout "$npm_timeout" npm ci --no-audit --no-fund --loglevel=error) >"$log" 2>&1 &&
    [ -f "$node_dir/node_modules/aws-lambda-ric/dist/rapid-client.node" ]; then
    echo "$stamp" >"$node_dir/node_modules/.faultline-stamp"
    available aws-lambda-ric
  else
    unavailable aws-lambda-ric "npm ci of aws-lambda-ric (examples/functions/node/package-lock.json) failed or built no rapid-client.node" "$log"
  fi
}

# --- The real Chaos Toolkit: build/chaosenv ------------------------------------
install_chaos() {
  local log="$status_dir/chaostoolkit.log" stamp py="${PYTHON:-python3}"
  command -v "$py" >/dev/null 2>&1 || { unavailable chaostoolkit "no $py on PATH"; return; }
  stamp="$chaos_venv $("$py" -c 'import sys; print(sys.version.split()[0], sys.executable)' 2>/dev/null) $(sha256sum "$chaos_requirements" | cut -c1-16)"
  if [ -x "$chaos_venv/bin/chaos" ] && [ "$(cat "$chaos_venv/.faultline-stamp" 2>/dev/null)" = "$stamp" ]; then
    available chaostoolkit
    return
  fi
  say "creating $chaos_venv and installing $(grep -v '^#' "$chaos_requirements" | xargs)"
  rm -rf "$chaos_venv"
  export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
  if timeout 300 "$py" -m venv "$chaos_venv" >"$log" 2>&1 &&
    timeout "$pip_timeout" "$chaos_venv/bin/pip" install -q -r "$chaos_requirements" >>"$log" 2>&1 &&
    "$chaos_venv/bin/chaos" --version >>"$log" 2>&1; then
    echo "$stamp" >"$chaos_venv/.faultline-stamp"
    available chaostoolkit
  else
    unavailable chaostoolkit "pip could not install the Chaos Toolkit into build/chaosenv" "$log"
  fi
}

install_python
install_chaos
install_node
exit 0
