#!/bin/bash
# valgrind memcheck of evnode (release build) on
#   1. the 200,000-echo stream (read from a file, as fast as it goes), and
#   2. a 5-node broadcast input seen from the hub n0 (client broadcasts and reads mixed with its
#      peers' bc_data / bc_ack messages), fed through a pipe in paced chunks so that the node
#      idles between them and its flush, ack and resend timers run.
# Writes results/perf/memcheck.tsv and the valgrind logs next to the inputs ($WORK).
#   Benchmarks/memcheck.sh [ECHO_N] [BROADCAST_N]
set -euo pipefail
cd "$(dirname "$0")/.."
SCRATCH=${SCRATCH:-.build-perf}
WORK=${WORK:-${TMPDIR:-/tmp}/evnode-bench}
ECHO_N=${1:-200000}
BROADCAST_N=${2:-3000}
mkdir -p "$WORK" results/perf
if [ -z "${EVNODE:-}" ]; then # EVNODE=path skips the build and measures that binary
  swift build -c release --static-swift-stdlib --scratch-path "$SCRATCH" --product evnode >&2
  EVNODE="$(swift build -c release --static-swift-stdlib --scratch-path "$SCRATCH" --show-bin-path)/evnode"
fi

python3 Benchmarks/gen.py echo "$ECHO_N" > "$WORK/memcheck-echo.jsonl"
python3 Benchmarks/gen.py broadcast-peers "$BROADCAST_N" > "$WORK/memcheck-broadcast.jsonl"
VG=(valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect,possible
    --errors-for-leak-kinds=definite --error-exitcode=99)

TSV=results/perf/memcheck.tsv
printf 'date\tcommit\tinput\tlines\terrors\tdefinitely_lost_bytes\tindirectly_lost_bytes\tpossibly_lost_bytes\tclient_requests\tclient_replies\n' > "$TSV"
report() { # name input log output
  local errors definite indirect possible requests replies
  errors=$(grep -oP 'ERROR SUMMARY: \K[0-9,]+' "$3" | tr -d ,)
  definite=$(grep -oP 'definitely lost: \K[0-9,]+' "$3" | tr -d , || true)
  indirect=$(grep -oP 'indirectly lost: \K[0-9,]+' "$3" | tr -d , || true)
  possible=$(grep -oP 'possibly lost: \K[0-9,]+' "$3" | tr -d , || true)
  requests=$(grep -c '"src":"c' "$2")
  replies=$(grep -c '"dest":"c' "$4")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date +%FT%T)" "$(git rev-parse --short HEAD)" "$1" \
    "$(wc -l < "$2")" "$errors" "${definite:-0}" "${indirect:-0}" "${possible:-0}" "$requests" "$replies" | tee -a "$TSV"
}

"${VG[@]}" --log-file="$WORK/memcheck-echo.log" "$EVNODE" < "$WORK/memcheck-echo.jsonl" > "$WORK/memcheck-echo.out" 2>/dev/null
report "echo-$ECHO_N" "$WORK/memcheck-echo.jsonl" "$WORK/memcheck-echo.log" "$WORK/memcheck-echo.out"

python3 Benchmarks/tools/trickle.py "$WORK/memcheck-broadcast.jsonl" 400 0.3 4 |
  "${VG[@]}" --log-file="$WORK/memcheck-broadcast.log" "$EVNODE" > "$WORK/memcheck-broadcast.out" 2>/dev/null
report "broadcast-5-nodes-$BROADCAST_N" "$WORK/memcheck-broadcast.jsonl" "$WORK/memcheck-broadcast.log" "$WORK/memcheck-broadcast.out"
