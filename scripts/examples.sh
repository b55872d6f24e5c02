#!/usr/bin/env bash
# Builds and tests every package in Examples/ (docs/library.md) from its own directory, each with
# its own .build: they share nothing but their path dependency on this package, as a user's
# package would. Prints each one's time; exits non-zero if any build or test failed.
set -uo pipefail
cd "$(dirname "$0")/.."
failed=0
for dir in Examples/*/; do
  [ -f "$dir/Package.swift" ] || continue
  start=$SECONDS
  if (cd "$dir" && swift build && swift test); then
    echo "examples: ${dir%/} passed in $((SECONDS - start)) s"
  else
    echo "examples: ${dir%/} FAILED after $((SECONDS - start)) s"
    failed=$((failed + 1))
  fi
done
# The library's run loop through real pipes (the tests above use the simulator): init, an echo and
# a type without a handler into the echo example's binary.
replies=$(printf '%s\n' \
  '{"src":"c0","dest":"n0","body":{"type":"init","msg_id":1,"node_id":"n0","node_ids":["n0"]}}' \
  '{"src":"c1","dest":"n0","body":{"type":"echo","msg_id":2,"echo":"hi"}}' \
  '{"src":"c1","dest":"n0","body":{"type":"nope","msg_id":3}}' | Examples/echo/.build/debug/echo 2>/dev/null)
expected='{"src":"n0","dest":"c0","body":{"in_reply_to":1,"type":"init_ok"}}
{"src":"n0","dest":"c1","body":{"in_reply_to":2,"type":"echo_ok","echo":"hi"}}
{"src":"n0","dest":"c1","body":{"in_reply_to":3,"type":"error","code":10,"text":"nope is not a message type this node serves"}}'
if [ "$replies" = "$expected" ]; then
  echo "examples: the echo binary answers through real pipes"
else
  printf 'examples: the echo binary answered\n%s\n' "$replies"
  failed=$((failed + 1))
fi
exit $(( failed > 0 ))
