"""The bwrap command line, the host paths a sandbox sees, and who the sandbox user is."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from app.runners.local import INSTALL_HINT, LocalRunner
from app.runners.local.argv import (
    ENTRY_SCRIPT,
    GATEWAY_SOCKET,
    WORKSPACE,
    SandboxSpec,
    bwrap_options,
    launcher_command,
)
from app.runners.local.inside_sandbox.sandbox_entry import parse_args, parse_rlimit
from app.runners.local.mounts import ETC_ENTRIES, host_mounts
from app.runners.local.session import ENTRY_SCRIPT as ENTRY_SCRIPT_PATH
from app.runners.local.user import SandboxIdentity, choose_identity, hand_over, id_map
from tests.runners.local.test_local_support import sandbox_settings


def spec(**overrides: object) -> SandboxSpec:
    values: dict[str, object] = {
        "command": ["python", "-m", "aideator_agent"],
        "env": {"HOME": "/home/sandbox", "PATH": "/usr/bin"},
        "workspace": Path("/srv/ws/run/0"),
        "host_mounts": ["--ro-bind", "/usr", "/usr"],
        "python": "/venv/bin/python",
        "entry_script": Path("/app/sandbox_entry.py"),
        "forwarder_script": Path("/app/sandbox_forwarder.py"),
        "data_files": {"/etc/passwd": 5},
        "tmp_size_bytes": 64 * 1024 * 1024,
    }
    values.update(overrides)
    return SandboxSpec(**values)  # type: ignore[arg-type]


def pairs(args: list[str], flag: str) -> list[str]:
    """Values following each occurrence of `flag`."""
    return [args[i + 1] for i, arg in enumerate(args[:-1]) if arg == flag]


class TestBwrapOptions:
    def test_isolation_flags(self) -> None:
        args = bwrap_options(spec())
        for flag in (
            "--unshare-user",
            "--disable-userns",
            "--unshare-pid",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-net",
            "--unshare-cgroup-try",
            "--die-with-parent",
            "--as-pid-1",
            "--new-session",
            "--clearenv",
        ):
            assert flag in args, flag
        assert pairs(args, "--cap-drop") == ["ALL"]
        assert pairs(args, "--uid") == ["1000"] and pairs(args, "--gid") == ["1000"]
        assert pairs(args, "--hostname") == ["sandbox"]
        assert "--share-net" not in args and "--unshare-all" not in args

    def test_prepared_user_namespace_replaces_unshare_user(self) -> None:
        args = bwrap_options(spec(userns_fd=7))
        assert pairs(args, "--userns") == ["7"]
        assert "--unshare-user" not in args and "--disable-userns" not in args

    def test_environment_is_exactly_the_given_one(self) -> None:
        args = bwrap_options(spec())
        assert args.index("--clearenv") < args.index("--setenv")
        setenvs = [(args[i + 1], args[i + 2]) for i, a in enumerate(args) if a == "--setenv"]
        assert setenvs == [("HOME", "/home/sandbox"), ("PATH", "/usr/bin")]

    def test_filesystem_layout(self) -> None:
        args = bwrap_options(spec(gateway_socket=Path("/tmp/gw/gateway.sock")))
        assert args[-2:] == ["--remount-ro", "/"]  # last: nothing can be added to the root
        bind = args.index("--bind")
        assert args[bind + 1 : bind + 3] == ["/srv/ws/run/0", WORKSPACE]
        assert pairs(args, "--bind") == ["/srv/ws/run/0"]  # the only writable host path
        assert pairs(args, "--chdir") == [WORKSPACE]
        assert pairs(args, "--proc") == ["/proc"] and pairs(args, "--dev") == ["/dev"]
        assert pairs(args, "--tmpfs") == ["/dev/shm", "/tmp", "/home/sandbox"]
        assert pairs(args, "--size") == [str(64 * 1024 * 1024)] * 3
        ro = pairs(args, "--ro-bind")
        assert "/tmp/gw/gateway.sock" in ro and "/app/sandbox_entry.py" in ro
        gateway = args.index("/tmp/gw/gateway.sock")
        assert args[gateway + 1] == GATEWAY_SOCKET
        data = args.index("--ro-bind-data")
        assert args[data - 2 : data + 3] == [
            "--perms",
            "0444",
            "--ro-bind-data",
            "5",
            "/etc/passwd",
        ]

    def test_launcher_runs_the_command(self) -> None:
        command = launcher_command(spec(lifeline_fd=9, gateway_socket=Path("/g.sock")))
        assert command[:4] == ["/venv/bin/python", "-I", "-S", ENTRY_SCRIPT]
        assert pairs(command, "--lifeline") == ["9"]
        assert pairs(command, "--gateway") == [GATEWAY_SOCKET]
        assert command[command.index("--") + 1 :] == ["python", "-m", "aideator_agent"]
        assert "--gateway" not in launcher_command(spec())


class TestHostMounts:
    def test_only_read_only_system_paths(self) -> None:
        args = host_mounts([])
        assert "--bind" not in args and "--dev-bind" not in args
        sources = pairs(args, "--ro-bind")
        for forbidden in ("/", "/etc", "/root", "/home", "/var", "/proc", "/sys", "/run"):
            assert forbidden not in sources, forbidden
        etc = [s for s in sources if s.startswith("/etc/")]
        assert etc and all(Path(s).name in ETC_ENTRIES for s in etc)
        assert not any("passwd" in s or "shadow" in s or "group" in s for s in sources)

    def test_merged_usr_symlinks_are_recreated(self) -> None:
        args = host_mounts([])
        for name in ("/bin", "/lib"):
            if Path(name).is_symlink():
                i = args.index(name)
                assert args[i - 2] == "--symlink" and args[i - 1] == os.readlink(name)


class TestIdentity:
    def test_root_hands_sandboxes_to_a_dedicated_uid(self) -> None:
        identity = choose_identity(123456)
        if os.geteuid() == 0:
            assert identity == SandboxIdentity(123456, 123456, own_userns=True)
        else:
            assert identity == SandboxIdentity(os.getuid(), os.getgid(), own_userns=False)

    def test_id_map_maps_only_the_sandbox_user_and_host_root(self) -> None:
        assert id_map(2_000_000_000) == "1000 2000000000 1\n65533 0 1\n"

    @pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
    def test_hand_over_never_follows_symlinks(self, tmp_path: Path) -> None:
        outside = tmp_path / "outside.txt"
        outside.write_text("host file\n")
        tree = tmp_path / "tree"
        (tree / "sub").mkdir(parents=True)
        (tree / "sub" / "file").write_text("x")
        (tree / "link").symlink_to(outside)
        (tree / "dirlink").symlink_to(tmp_path)
        hand_over(tree, SandboxIdentity(4242, 4343, own_userns=True))
        for path in (tree, tree / "sub", tree / "sub" / "file", tree / "link"):
            assert (path.lstat().st_uid, path.lstat().st_gid) == (4242, 4343), path
        assert outside.stat().st_uid == 0 and tmp_path.stat().st_uid == 0

    @pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
    def test_hand_over_leaves_shared_object_files_to_the_server(self, tmp_path: Path) -> None:
        mirror_pack = tmp_path / "mirror" / "pack-1.pack"
        mirror_pack.parent.mkdir()
        mirror_pack.write_text("objects")
        mirror_pack.chmod(0o444)
        pack_dir = tmp_path / "tree" / ".git" / "objects" / "pack"
        pack_dir.mkdir(parents=True)
        os.link(mirror_pack, pack_dir / "pack-1.pack")
        (pack_dir / "pack-2.pack").write_text("own copy")
        (tmp_path / "tree" / "twin").write_text("x")
        os.link(tmp_path / "tree" / "twin", tmp_path / "tree" / "twin2")  # not an object file
        hand_over(tmp_path / "tree", SandboxIdentity(4242, 4343, own_userns=True))
        assert mirror_pack.stat().st_uid == 0
        assert (pack_dir / "pack-2.pack").stat().st_uid == 4242
        assert (tmp_path / "tree" / "twin2").stat().st_uid == 4242
        assert pack_dir.stat().st_uid == 4242


def test_parse_rlimit() -> None:
    import resource

    assert parse_rlimit("NPROC=64:65") == (resource.RLIMIT_NPROC, 64, 65)
    assert parse_rlimit("core=0") == (resource.RLIMIT_CORE, 0, 0)
    with pytest.raises(ValueError):
        parse_rlimit("NOPE=1")


def test_launcher_options_stop_at_the_command() -> None:
    import resource

    options = ["--rlimit", "CORE=0:0", "--lifeline=7", "--report", "9", "--watch-nproc", "64"]
    args = parse_args([*options, "--gateway", "/run/gw.sock", "--", "sh", "--rlimit", "x", "--"])
    assert args.rlimit == [(resource.RLIMIT_CORE, 0, 0)]
    assert (args.lifeline, args.report, args.watch_nproc) == (7, 9, 64)
    assert (args.gateway, args.egress) == ("/run/gw.sock", None)
    assert args.command == ["sh", "--rlimit", "x", "--"]  # the command's own words, untouched
    assert parse_args(["true", "--lifeline", "3"]).command == ["true", "--lifeline", "3"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--lifeline", "x", "--", "true"], "--lifeline"),
        (["--rlimit", "NOPE=1", "--", "true"], "bad --rlimit"),
        (["--nope", "1", "--", "true"], "unrecognized argument --nope"),
        (["--report"], "--report expects a value"),
        (["--rlimit", "CORE=0:0", "--"], "no command"),
    ],
)
def test_launcher_refuses_a_bad_command_line(argv: list[str], message: str) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-I", "-S", str(ENTRY_SCRIPT_PATH), *argv],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "usage: sandbox_entry" in done.stderr and message in done.stderr


def test_launcher_runs_the_command_and_exits_with_its_status() -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-I", "-S", str(ENTRY_SCRIPT_PATH), "--", "sh", "-c", "echo out; exit 3"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert (done.returncode, done.stdout) == (3, "out\n")


async def test_missing_bwrap_is_reported_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert shutil.which("bwrap") is None
    available = await LocalRunner(sandbox_settings(tmp_path).local_settings).availability()
    assert not available.ok
    assert available.hint == INSTALL_HINT == "install bubblewrap: apt-get install bubblewrap"


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap missing")
async def test_availability_probes_a_real_sandbox(tmp_path: Path) -> None:
    available = await LocalRunner(
        sandbox_settings(tmp_path, sandbox_limits="rlimits").local_settings
    ).availability()
    assert available.ok, available
    assert available.limits is not None and available.limits.startswith("rlimits")
    refused = await LocalRunner(
        sandbox_settings(tmp_path, sandbox_limits="cgroups").local_settings
    ).availability()
    if not refused.ok:  # this machine has no delegated cgroup v2 controllers
        assert "cgroup" in refused.detail
