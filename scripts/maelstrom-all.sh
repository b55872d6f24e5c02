#!/usr/bin/env bash
# Runs every Gossip Glomers challenge under real Maelstrom with the commands of the challenge
# pages (6c with an ASCII --nemesis: the published en-dash silently disables partitions).
# MAELSTROM=/path/to/maelstrom overrides the one on PATH. Stops at the first failing challenge.
set -euo pipefail
cd "$(dirname "$0")/.."
M="${MAELSTROM:-maelstrom}"
BIN="$(pwd)/.build/release/evnode"
run() { echo "== $*"; "$M" test --bin "$BIN" "$@"; }
run -w echo --node-count 1 --time-limit 10
run -w unique-ids --time-limit 30 --rate 1000 --node-count 3 --availability total --nemesis partition
run -w broadcast --node-count 1 --time-limit 20 --rate 10
run -w broadcast --node-count 5 --time-limit 20 --rate 10
run -w broadcast --node-count 5 --time-limit 20 --rate 10 --nemesis partition
run -w broadcast --node-count 25 --time-limit 20 --rate 100 --latency 100
run -w broadcast --node-count 25 --time-limit 20 --rate 100 --latency 100 --nemesis partition
run -w g-counter --node-count 3 --rate 100 --time-limit 20 --nemesis partition
run -w kafka --node-count 1 --concurrency 2n --time-limit 20 --rate 1000
run -w kafka --node-count 2 --concurrency 2n --time-limit 20 --rate 1000
run -w txn-rw-register --node-count 1 --time-limit 20 --rate 1000 --concurrency 2n --consistency-models read-uncommitted --availability total
run -w txn-rw-register --node-count 2 --concurrency 2n --time-limit 20 --rate 1000 --consistency-models read-uncommitted
run -w txn-rw-register --node-count 2 --concurrency 2n --time-limit 20 --rate 1000 --consistency-models read-uncommitted --availability total --nemesis partition
run -w txn-rw-register --node-count 2 --concurrency 2n --time-limit 20 --rate 1000 --consistency-models read-committed --availability total --nemesis partition
