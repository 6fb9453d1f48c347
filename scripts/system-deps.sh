#!/usr/bin/env bash
# Install the Debian packages d2w needs, if any are missing. Used by `make run` and `make test`.
#   scripts/system-deps.sh run    python3-venv, and the libraries WeasyPrint uses for PDFs
#   scripts/system-deps.sh test   the above, plus Chromium for the browser tests and poppler-utils
#   scripts/system-deps.sh bench  the run packages, plus wrk, the HTTP load generator of `make bench`
set -euo pipefail

packages=(python3-venv libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core)
if [ "${1:-run}" = "test" ]; then
  packages+=(chromium poppler-utils)
fi
if [ "${1:-run}" = "bench" ]; then
  packages+=(wrk)
fi

missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  echo "Installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
elif command -v sudo >/dev/null 2>&1; then
  echo "Installing Debian packages with sudo: ${missing[*]}"
  sudo apt-get update -qq
  sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "Please install these Debian packages, then run again: ${missing[*]}" >&2
  exit 1
fi
