#!/usr/bin/env bash
# The main job on a fresh machine: install what is missing, build release, then run every
# challenge — under real Maelstrom when it is installed, otherwise in evnode's simulator,
# rewriting results/<challenge>/ (the tracked files byte for byte, so git status stays clean; the
# tables, plots and pictures beside them are regenerated and ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --static-swift-stdlib   # the Swift runtime linked in: docs/perf.md#static-swift-runtime
if command -v maelstrom >/dev/null 2>&1 || [ -n "${MAELSTROM:-}" ]; then
  exec scripts/maelstrom-all.sh
fi
echo "bootstrap: Maelstrom not found; running the challenges in the built-in simulator"
exec .build/release/evsim all --out results
