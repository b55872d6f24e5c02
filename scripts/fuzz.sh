#!/usr/bin/env bash
# Runs the libFuzzer target (Sources/evfuzz) over the real decode-and-dispatch path.
#   scripts/fuzz.sh [SECONDS] [extra libFuzzer flags...]   default: 4 hours
# Corpus: .build/fuzz-corpus (seeded from Sources/EVFuzz/SeedCorpus.swift, grown by libFuzzer).
# Crashes land in .build/fuzz-artifacts; replay one with `.build/debug/evfuzz FILE` (normal build)
# or `.build/fuzz/debug/evfuzz FILE` (instrumented). See docs/hardening.md.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-14400}
shift || true
corpus=.build/fuzz-corpus artifacts=.build/fuzz-artifacts
mkdir -p "$corpus" "$artifacts"
swift build --product evfuzz
.build/debug/evfuzz                              # seeds replay clean before fuzzing
.build/debug/evfuzz --write-seeds "$corpus"
swift build -c debug --scratch-path .build/fuzz -Xswiftc -sanitize=fuzzer,address \
  -Xswiftc -DEVFUZZ_LIBFUZZER --product evfuzz
exec .build/fuzz/debug/evfuzz -max_total_time="$seconds" -max_len=8192 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$artifacts/" "$@" "$corpus"
