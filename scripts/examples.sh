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
exit $(( failed > 0 ))
