"""Prints `<emit time ns> <n>` lines at a fixed rate (0 = as fast as possible).

    emit_lines.py COUNT RATE [START_AT_EPOCH_SECONDS]

With START_AT, emission begins at that wall-clock time, so every variation is up and running
before the first line: the benchmark then measures the relay, not the agents' start-up.
"""

import sys
import time

count, rate = int(sys.argv[1]), float(sys.argv[2])
if len(sys.argv) > 3:
    time.sleep(max(0.0, float(sys.argv[3]) - time.time()))
out = sys.stdout
start = time.perf_counter()
for n in range(count):
    if rate:
        delay = start + n / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
    out.write(f"{time.time_ns()} {n}\n")
    out.flush()
