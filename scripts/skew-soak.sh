#!/usr/bin/env bash
# Soak for issue 20 (a fresh node taking itself for a restarted one): runs the process test
# StartSkewProcessTests/testTxnListAppendOnTwoSkewedProcesses N times against the release evnode,
# odd runs behind a start skew drawn from seed BASE+i, even runs without skew. One line per run,
# then "N passed, M failed". A failed run's log is kept (path printed); replay one with
#   EVNODE_SKEW_SEED=<seed> swift test --filter StartSkewProcessTests/testTxnListAppendOnTwoSkewedProcesses
#
# Usage: scripts/skew-soak.sh [N] (default 20). Env: SKEW_SOAK_SEED (base seed, random otherwise).
set -u
n=${1:-20}
cd "$(dirname "$0")/.."
base=${SKEW_SOAK_SEED:-$((RANDOM * 32768 + RANDOM))}
test=ProcessTests.StartSkewProcessTests/testTxnListAppendOnTwoSkewedProcesses

# The node under test (release, as Maelstrom runs it) and the test bundle; both incremental.
swift build -c release --product evnode >/dev/null || { echo "release build failed" >&2; exit 2; }
swift build --build-tests >/dev/null || { echo "test build failed" >&2; exit 2; }
bin=$(swift build -c release --show-bin-path)/evnode
bundle=$(swift build --show-bin-path)/evnodePackageTests.xctest
logs=$(mktemp -d /tmp/skew-soak.XXXXXX)
echo "skew soak: $n runs, base seed $base, node $bin, logs $logs"

passed=0 failed=0
for i in $(seq 1 "$n"); do
    log=$logs/run-$i.log
    if (( i % 2 )); then
        seed=$((base + i)) what="skew seed $seed"
        env=(EVNODE_SKEW_SEED=$seed)
    else
        what="no skew" env=(EVNODE_SKEW=off)
    fi
    start=$(date +%s%N)
    env EVNODE_BIN="$bin" "${env[@]}" timeout 120 "$bundle" "$test" >"$log" 2>&1
    rc=$?
    ms=$(( ($(date +%s%N) - start) / 1000000 )); secs=$((ms / 1000)).$((ms % 1000 / 100))
    if [[ $rc -eq 0 ]] && grep -q "Executed 1 test, with 0 failures" "$log"; then
        passed=$((passed + 1))
        refused=$(grep -c "refused .*before a leader" "$log")
        printf 'run %3d/%d  %-22s pass  %5s s%s\n' "$i" "$n" "$what" "$secs" "$( ((refused)) && echo "  (first leader late: $refused txns refused, retried)")"
        rm -f "$log"
    else
        failed=$((failed + 1))
        first=$(grep -m1 -E "error:|FAILED" "$log" | cut -c1-160)
        printf 'run %3d/%d  %-22s FAIL  %5s s  (%s) %s\n' "$i" "$n" "$what" "$secs" "$log" "$first"
    fi
done
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
