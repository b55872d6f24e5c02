#!/usr/bin/env bash
# Installs the system packages evnode needs on Debian/Ubuntu: libev and jansson (the C core),
# pkg-config (to find jansson), gnuplot (results plots), valgrind (memory checks), and chromium,
# imagemagick and python3 for the browser check of messages.svg / timeline.html
# (scripts/check-pictures.sh, run by PicturesTests).
set -euo pipefail
packages=(libev-dev libjansson-dev pkg-config gnuplot-nox valgrind chromium imagemagick python3)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all present (${packages[*]})"
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
