"""Prints `<emit time ns> <n>` lines at a fixed rate (0 = as fast as possible)."""

import sys
import time

count, rate = int(sys.argv[1]), float(sys.argv[2])
out = sys.stdout
start = time.perf_counter()
for n in range(count):
    if rate:
        delay = start + n / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
    out.write(f"{time.time_ns()} {n}\n")
    out.flush()
