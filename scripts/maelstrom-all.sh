#!/usr/bin/env bash
# Runs every Gossip Glomers challenge under real Maelstrom. The commands are not kept here:
# `evsim list --maelstrom-commands` prints them from the simulator's challenge table (the same
# one README's table is generated from), 6c with an ASCII --nemesis (the page's en-dash silently
# disables partitions). MAELSTROM=/path/to/maelstrom overrides the one on PATH. Builds the release
# binaries if needed. Stops at the first failing challenge.
set -euo pipefail
cd "$(dirname "$0")/.."
M="${MAELSTROM:-maelstrom}"
BIN="$(pwd)/.build/release/evnode"
if [ ! -x "$BIN" ] || [ ! -x .build/release/evsim ]; then
  swift build -c release
fi
mapfile -t commands < <(.build/release/evsim list --maelstrom-commands --bin "$BIN")
for command in "${commands[@]}"; do
  echo "== $command"
  read -r -a words <<< "$command"
  # words[0] is "maelstrom": run the configured one with the rest.
  "$M" "${words[@]:1}"
done
