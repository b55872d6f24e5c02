#!/usr/bin/env python3
"""Copies a file to stdout in chunks of LINES lines, pausing DELAY seconds between chunks and
HOLD seconds before closing, so the node under test goes idle in between and its timers fire.

  trickle.py FILE LINES DELAY HOLD
"""
import sys
import time

path, lines, delay, hold = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
out = sys.stdout.buffer
with open(path, "rb") as f:
    chunk = []
    for line in f:
        chunk.append(line)
        if len(chunk) == lines:
            out.write(b"".join(chunk)); out.flush(); chunk.clear()
            time.sleep(delay)
    out.write(b"".join(chunk)); out.flush()
time.sleep(hold)
