#!/bin/bash
# Builds evnode (release), the C floor and the bench tools, then runs Benchmarks/run.py.
#   Benchmarks/run.sh [--reps 5] [--sizes 200000,1000000] [--callgrind-n 20000] [--rtt-count 20000]
# Needs: swift, gcc, libev-dev, libjansson-dev, valgrind, python3; hyperfine optional (apt-get
# install -y hyperfine valgrind). SCRATCH picks SwiftPM's build directory (default .build-perf).
set -euo pipefail
cd "$(dirname "$0")/.."
SCRATCH=${SCRATCH:-.build-perf}
WORK=${WORK:-${TMPDIR:-/tmp}/evnode-bench}
mkdir -p "$WORK/bin"

if [ -z "${EVNODE:-}" ]; then # EVNODE=path skips the build and measures that binary
  swift build -c release --static-swift-stdlib --scratch-path "$SCRATCH" --product evnode >&2
  EVNODE="$(swift build -c release --static-swift-stdlib --scratch-path "$SCRATCH" --show-bin-path)/evnode"
fi

gcc -O2 -Wall -o "$WORK/bin/floor" Benchmarks/floor/floor.c -lev -ljansson
gcc -O2 -Wall -o "$WORK/bin/pipebench" Benchmarks/tools/pipebench.c -ljansson
gcc -O2 -Wall -o "$WORK/bin/rtt" Benchmarks/tools/rtt.c -ljansson

exec python3 Benchmarks/run.py --evnode "$EVNODE" --floor "$WORK/bin/floor" --tools "$WORK/bin" --work "$WORK" "$@"
