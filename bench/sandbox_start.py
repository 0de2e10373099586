"""The sandbox alone: N local sandboxes of a trivial command agent started at once, no server.

    uv run python bench/sandbox_start.py [--variations 1,8] [--repeat 10]

Calls the local runner directly (`LocalRunner.run`, as the server does for each variation:
hand-over, user namespace, bwrap, PID 1, the agent program) on N committed workspaces at
once, for each N given, with `echo hi` as the command agent. Per round it takes the first
sandbox's time to the command's own line, and the slowest sandbox's time to its first line,
to the command's line and to its exit; it prints the medians and the CPU time of all child
processes per sandbox. This is the
sandbox's part of `bench/launch.py`'s POST -> first line, without the server's ref,
workspace and status work: launch's floor on this design.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import structlog

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.runners.base import AgentExit, VariationJob  # noqa: E402
from app.runners.local import LocalRunner  # noqa: E402
from tests.runners.local.test_local_support import (  # noqa: E402
    command_job,
    sandbox_settings,
    with_command,
    workspace,
)


async def one_sandbox(runner: LocalRunner, job: VariationJob) -> tuple[float, float, float]:
    """ms to the first line, to the command's `hi` line, and to the exit."""
    start = time.perf_counter()
    first = hi = float("nan")
    async for item in runner.run(job):
        if isinstance(item, AgentExit):
            break
        now = (time.perf_counter() - start) * 1000
        if first != first:  # nan: no line yet
            first = now
        if '"text":"hi"' in item.replace(" ", "") and hi != hi:
            hi = now
    return first, hi, (time.perf_counter() - start) * 1000


def children_cpu_ms() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (usage.ru_utime + usage.ru_stime) * 1000


async def one_count(root: Path, runner: LocalRunner, variations: int, repeat: int) -> None:
    """Rounds of `variations` sandboxes at once; prints the medians."""
    trees = [workspace(root / f"ws{variations}-{i}") for i in range(variations)]
    jobs = [with_command(command_job(tree, sha, ""), ["echo", "hi"]) for tree, sha in trees]
    rounds = []
    cpu_before = children_cpu_ms()
    for _ in range(repeat):
        results = await asyncio.gather(*(one_sandbox(runner, job) for job in jobs))
        rounds.append([min(r[1] for r in results), *(max(r[k] for r in results) for k in range(3))])
    cpu = (children_cpu_ms() - cpu_before) / (repeat * variations)
    first_hi, first, hi, end = (statistics.median(r[k] for r in rounds) for k in range(4))
    print(f"local sandbox, N={variations} at once; median of {repeat} rounds")
    print(f"  the first sandbox to the command's line  {first_hi:8.1f} ms")
    print(f"  every sandbox to its first line          {first:8.1f} ms")
    print(f"  every sandbox to the command's line      {hi:8.1f} ms")
    print(f"  every sandbox to its exit                {end:8.1f} ms")
    print(f"  CPU of child processes per sandbox       {cpu:8.1f} ms", flush=True)


async def main() -> None:
    # The runner's own info lines (its sandbox discovery) are not the benchmark's output.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variations", default="1", help="sandboxes at once; a list: 1,8")
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        runner = LocalRunner(sandbox_settings(root).local_settings)
        tree, sha = workspace(root / "warm-up")
        # The runner's discovery and spare namespaces, kept out of the rounds.
        await one_sandbox(runner, with_command(command_job(tree, sha, ""), ["echo", "hi"]))
        for count in args.variations.split(","):
            await one_count(root, runner, int(count), args.repeat)


if __name__ == "__main__":
    asyncio.run(main())
