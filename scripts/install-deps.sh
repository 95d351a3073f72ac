#!/usr/bin/env bash
# Installs the system packages Twister needs to build, run and test, on Debian/Ubuntu.
# Each part of the project lists its packages in scripts/deps/<part>.apt (one name a line, '#' comments).
# Missing packages only; a no-op when everything is there. Also installs a Rust toolchain if cargo is absent.
# Usage: install-deps.sh [PART...]   (no part: every part, as the tests need; `build`: only what building needs)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
pkgs=()
files=()
if [ $# -gt 0 ]; then
  for part in "$@"; do files+=("$here/deps/$part.apt"); done
else
  files=("$here"/deps/*.apt)
fi
for f in "${files[@]}"; do
  [ -e "$f" ] || continue
  while read -r line; do
    line=${line%%#*}; line=$(echo "$line" | xargs)
    [ -n "$line" ] && pkgs+=("$line")
  done < "$f"
done
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  $sudo apt-get update -qq
  # tshark asks whether non-root users may capture; answer it up front so the install is unattended.
  if command -v debconf-set-selections >/dev/null 2>&1; then
    echo "wireshark-common wireshark-common/install-setuid boolean false" | $sudo debconf-set-selections
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if ! command -v cargo >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/cargo" ]; then
  echo "install-deps: installing the Rust toolchain with rustup"
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c clippy,rustfmt
fi
# Mail tests: a real SMTP server from PyPI (aiosmtpd), installed for the python3 on PATH when it is missing.
if [ $# -eq 0 ] && command -v python3 >/dev/null 2>&1 && ! python3 -c 'import aiosmtpd' 2>/dev/null; then
  echo "install-deps: installing aiosmtpd from PyPI"
  python3 -m pip install --quiet aiosmtpd 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages aiosmtpd
fi
