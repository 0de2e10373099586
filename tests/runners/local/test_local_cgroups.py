"""Limit planning and per-sandbox cgroups, against a directory laid out like cgroup v2.

This machine's kernel may not delegate cgroup v2 controllers, so the file protocol (which
files are written with what, which counters are read) is checked on a fake tree; the
process side (joining before exec) runs a real child.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.runners import child
from app.runners.base import AgentExit
from app.runners.child import ChildSetup, stream_child
from app.runners.local.limits import (
    MIB,
    LimitMode,
    LimitValues,
    SandboxCgroup,
    limit_reason,
    own_cgroup,
    plan_limits,
    rlimit_args,
)

VALUES = LimitValues(memory_mb=256, pids_max=64, cpus=0.5)


def fake_root(tmp_path: Path, own: str = "/") -> tuple[Path, Path]:
    root = tmp_path / "cgroup"
    root.mkdir()
    (root / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (root / "cgroup.subtree_control").write_text("")
    proc = tmp_path / "proc-self-cgroup"
    proc.write_text(f"0::{own}\n")
    return root, proc


class TestPlan:
    def test_rlimits_when_configured(self, tmp_path: Path) -> None:
        root, proc = fake_root(tmp_path)
        plan = plan_limits(wanted="rlimits", parent=None, root=root, proc_cgroup=proc)
        assert plan.mode == "rlimits"

    def test_rlimits_without_cgroup_v2(self, tmp_path: Path) -> None:
        plan = plan_limits(wanted="auto", parent=None, root=tmp_path, proc_cgroup=tmp_path / "x")
        assert plan.mode == "rlimits" and "no cgroup v2" in plan.detail

    def test_cgroups_at_the_namespace_root(self, tmp_path: Path) -> None:
        root, proc = fake_root(tmp_path)
        parent = root / "aideator"
        parent.mkdir()
        (parent / "cgroup.controllers").write_text("cpu memory pids\n")
        (parent / "cgroup.subtree_control").write_text("")
        plan = plan_limits(wanted="auto", parent=None, root=root, proc_cgroup=proc)
        assert plan.mode == "cgroups" and plan.cgroup_parent == parent
        assert (parent / "cgroup.subtree_control").read_text() == "+cpu +memory +pids"

    def test_a_nested_server_needs_a_delegated_parent(self, tmp_path: Path) -> None:
        root, proc = fake_root(tmp_path, own="/system.slice/aideator.service")
        plan = plan_limits(wanted="auto", parent=None, root=root, proc_cgroup=proc)
        assert plan.mode == "rlimits" and "AIDEATOR_SANDBOX_CGROUP_PARENT" in plan.detail

    def test_missing_controllers_fall_back_to_rlimits(self, tmp_path: Path) -> None:
        root, proc = fake_root(tmp_path)
        parent = root / "delegated"
        parent.mkdir()
        (parent / "cgroup.controllers").write_text("memory\n")
        plan = plan_limits(wanted="auto", parent=parent, root=root, proc_cgroup=proc)
        assert plan.mode == "rlimits" and "cpu, pids" in plan.detail

    def test_own_cgroup(self) -> None:
        assert own_cgroup("12:pids:/x\n0::/a/b\n") == "/a/b"
        assert own_cgroup("0::/\n") == "/"
        assert own_cgroup("4:memory:/x\n") is None


class TestSandboxCgroup:
    def test_create_writes_the_limits(self, tmp_path: Path) -> None:
        cgroup = SandboxCgroup.create(tmp_path, "run-0", VALUES)
        assert (cgroup.path / "memory.max").read_text() == str(256 * MIB)
        assert (cgroup.path / "pids.max").read_text() == "64"
        assert (cgroup.path / "cpu.max").read_text() == "50000 100000"

    def test_counters_name_the_limit(self, tmp_path: Path) -> None:
        cgroup = SandboxCgroup.create(tmp_path, "run-0", VALUES)
        assert cgroup.counters() == {"oom_kill": 0, "pids_max": 0}
        (cgroup.path / "memory.events").write_text("low 0\nhigh 0\nmax 9\noom 1\noom_kill 1\n")
        (cgroup.path / "pids.events").write_text("max 3\n")
        counters = cgroup.counters()
        assert counters == {"oom_kill": 1, "pids_max": 3}
        reason = limit_reason(
            VALUES, mode="cgroups", counters=counters, exit_codes=(0, 137), cpu_seconds=3
        )
        assert reason == "memory limit (256 MB) exceeded"

    @pytest.mark.parametrize("with_setpriv", [True, False], ids=["setpriv", "forked"])
    async def test_the_child_joins_before_exec(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, with_setpriv: bool
    ) -> None:
        if not with_setpriv:
            monkeypatch.setattr(child, "_SETPRIV", None)
        cgroup = SandboxCgroup(tmp_path)
        (tmp_path / "cgroup.procs").write_text("")
        items = [
            item
            async for item in stream_child(
                ["/bin/sh", "-c", "cat /proc/self/status >/dev/null; echo ok"],
                cwd=None,
                env={},
                setup=ChildSetup(cgroup_procs=cgroup.procs),
            )
        ]
        assert items[0] == "ok" and isinstance(items[-1], AgentExit)
        assert (tmp_path / "cgroup.procs").read_text() == "0"  # "0": the writing process

    def test_remove_deletes_an_empty_cgroup(self, tmp_path: Path) -> None:
        cgroup = SandboxCgroup(tmp_path / "leaf")
        cgroup.path.mkdir()
        cgroup.remove()
        assert not cgroup.path.exists()


@pytest.mark.parametrize(
    ("counters", "mode", "codes", "reason"),
    [
        ({"pids_max": 1}, "rlimits", (0, 2), "process limit (64) reached"),
        ({}, "rlimits", (0, 152), "CPU time limit (3 s per process) exceeded"),
        ({}, "cgroups", (0, 152), None),  # cgroups throttle CPU, they never kill for it
        ({}, "rlimits", (0, 1), None),
    ],
)
def test_limit_reason(
    counters: dict[str, int], mode: LimitMode, codes: tuple[int, int], reason: str | None
) -> None:
    found = limit_reason(VALUES, mode=mode, counters=counters, exit_codes=codes, cpu_seconds=3)
    assert found == reason


def test_rlimit_args() -> None:
    assert rlimit_args(VALUES, wall_seconds=6, mode="cgroups") == ["--rlimit", "CORE=0:0"]
    args = rlimit_args(VALUES, wall_seconds=6, mode="rlimits")
    assert args[1::2] == [
        "CORE=0:0",
        f"DATA={256 * MIB}:{256 * MIB}",
        "NPROC=64:64",
        "CPU=3:4",
    ]
