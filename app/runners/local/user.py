"""Who a sandboxed process is: uid 1000 inside, and which host uid that is.

A non-root server maps the sandbox user to itself (bubblewrap's own user namespace). A root
server must not: a process that is host root (even without capabilities) is exempt from
RLIMIT_NPROC and is root to the kernel should it ever leave its namespaces. So as root we
build the user namespace ourselves, mapping the sandbox user to a dedicated unprivileged host
uid, hand the workspace over to that uid, and give bubblewrap the namespace (`--userns`).
Host root is mapped too (as an anonymous id), only so bubblewrap may reach bind sources in
root-only directories while it sets up; the sandboxed processes never hold a capability.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from app.repos.workspace import give_tree

SANDBOX_UID = 1000
SANDBOX_USER = "sandbox"
SANDBOX_HOME = "/home/sandbox"
HOST_ROOT_INSIDE = 65533  # how host root's files appear inside; no process ever has it

# Runs as the first process of the new user namespace: while it still holds every capability
# there, it forbids nested user namespaces (a sandbox's `unshare -U` fails with ENOSPC).
_USERNS_HELPER = """
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.unshare(0x10000000) != 0:
    sys.exit("unshare(CLONE_NEWUSER): " + os.strerror(ctypes.get_errno()))
fd = os.open("/proc/sys/user/max_user_namespaces", os.O_WRONLY)
os.write(fd, b"0")
os.close(fd)
sys.stdout.write("ready\\n")
sys.stdout.flush()
sys.stdin.read()
"""


@dataclass(frozen=True)
class SandboxIdentity:
    """The host uid/gid behind the sandbox user, and who builds the user namespace."""

    host_uid: int
    host_gid: int
    own_userns: bool  # True: we build it (server is root); False: bubblewrap maps to us


def choose_identity(dedicated_uid: int) -> SandboxIdentity:
    """Root hands sandboxes to `dedicated_uid`; anyone else runs them as themselves."""
    if os.geteuid() == 0:
        return SandboxIdentity(dedicated_uid, dedicated_uid, own_userns=True)
    return SandboxIdentity(os.getuid(), os.getgid(), own_userns=False)


def id_map(host_id: int) -> str:
    """uid_map/gid_map text: the sandbox user, plus host root for bubblewrap's setup."""
    return f"{SANDBOX_UID} {host_id} 1\n{HOST_ROOT_INSIDE} 0 1\n"


async def open_userns(identity: SandboxIdentity) -> int:
    """A new user namespace for one sandbox, as an fd for `bwrap --userns`."""
    return await asyncio.to_thread(open_userns_blocking, identity)


def open_userns_blocking(identity: SandboxIdentity) -> int:
    """`open_userns` in the calling thread (plain subprocess: no event loop involved)."""
    helper = subprocess.Popen(
        [sys.executable, "-I", "-S", "-c", _USERNS_HELPER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert helper.stdin is not None and helper.stdout is not None
    try:
        if helper.stdout.readline() != b"ready\n":
            _, err = helper.communicate(timeout=30)
            raise OSError(f"user namespace helper failed: {err.decode(errors='replace')}")
        return _map_and_open(helper.pid, identity)
    finally:
        if helper.returncode is None:
            helper.kill()
            helper.communicate()


def _map_and_open(pid: int, identity: SandboxIdentity) -> int:
    proc = Path(f"/proc/{pid}")
    # Each map must be written in one write(2); `setgroups` is denied so nobody inside can
    # drop a group to get around a group-denied permission.
    _write_once(proc / "setgroups", "deny")
    _write_once(proc / "uid_map", id_map(identity.host_uid))
    _write_once(proc / "gid_map", id_map(identity.host_gid))
    return os.open(proc / "ns" / "user", os.O_RDONLY | os.O_CLOEXEC)


def _write_once(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def hand_over(tree: Path, identity: SandboxIdentity) -> None:
    """Give the workspace to the sandbox's host uid (never following symlinks).

    Object files hardlinked from the repository mirror stay the server's (read-only); entries
    already handed over (an overlay workspace's shared base) are not touched again.
    """
    if identity.own_userns:
        give_tree(tree, identity.host_uid, identity.host_gid)


def passwd_text() -> str:
    """/etc/passwd inside the sandbox."""
    return (
        "root:x:0:0:root:/root:/usr/sbin/nologin\n"
        f"{SANDBOX_USER}:x:{SANDBOX_UID}:{SANDBOX_UID}:sandbox:{SANDBOX_HOME}:/bin/sh\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
    )


def group_text() -> str:
    """/etc/group inside the sandbox."""
    return f"root:x:0:\n{SANDBOX_USER}:x:{SANDBOX_UID}:\nnogroup:x:65534:\n"


def hosts_text() -> str:
    """/etc/hosts inside the sandbox (loopback only)."""
    return "127.0.0.1 localhost sandbox\n::1 localhost ip6-localhost\n"


class SpareNamespaces:
    """User namespaces made ahead of need: a sandbox takes a ready one, and the spares are
    made again a moment later, off the launch path (each costs one helper process)."""

    def __init__(self, identity: SandboxIdentity, *, spares: int = 8, settle: float = 0.5) -> None:
        self._identity = identity
        self._spares = spares
        self._settle = settle
        self._ready: list[int] = []  # appended by the filling thread, popped by the loop
        self._filling: asyncio.Task[None] | None = None
        self._closed = False

    async def take(self) -> int:
        """A fresh user namespace fd (the caller owns and closes it)."""
        try:
            fd = self._ready.pop()
        except IndexError:
            fd = await open_userns(self._identity)
        self.refill()
        return fd

    def refill(self, *, now: bool = False) -> None:
        """Make the spares again in a thread (after a short pause unless `now`)."""
        if self._filling is None or self._filling.done():
            self._filling = asyncio.create_task(self._fill(0 if now else self._settle))

    async def _fill(self, pause: float) -> None:
        await asyncio.sleep(pause)
        # One thread call for the lot: a cancel (e.g. the loop closing) cannot strand an fd.
        await asyncio.to_thread(self._fill_blocking)

    def _fill_blocking(self) -> None:
        with contextlib.suppress(OSError):
            while len(self._ready) < self._spares and not self._closed:
                self._ready.append(open_userns_blocking(self._identity))

    def close(self) -> None:
        """Drop the spares (and stop making them)."""
        self._closed = True
        if self._filling is not None:
            self._filling.cancel()
        while self._ready:
            with contextlib.suppress(OSError):
                os.close(self._ready.pop())
