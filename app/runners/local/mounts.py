"""Which parts of the host a sandbox sees, all read-only: system dirs and an /etc subset.

Nothing else of the host is visible: not /root or /home, not the server's data directory
or database, not other workspaces, not the server's interpreter or virtualenv (the agent's
runtime is bound separately, see runtime.py). /etc is an allow-list (the loader cache, certificates,
time zone, alternatives); passwd, group and hosts are synthesized for the sandbox user.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ETC_ENTRIES = (
    "alternatives",
    "ca-certificates",
    "ca-certificates.conf",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "mime.types",
    "nsswitch.conf",
    "os-release",
    "protocols",
    "services",
    "ssl",
    "timezone",
)


def _covered(path: Path, bound: Iterable[Path]) -> bool:
    return any(path == other or path.is_relative_to(other) for other in bound)


def host_mounts(extra: Sequence[Path]) -> list[str]:
    """bwrap arguments for the read-only host paths: system dirs, /etc subset, `extra`."""
    args: list[str] = []
    bound: list[Path] = []
    for name in SYSTEM_PATHS:
        path = Path(name)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), name]
        elif path.is_dir():
            args += ["--ro-bind", name, name]
            bound.append(path.resolve())
    for entry in ETC_ENTRIES:
        path = Path("/etc") / entry
        if path.exists():
            args += ["--ro-bind", str(path), str(path)]
    for path in extra:
        absolute = Path(os.path.abspath(path))
        if not absolute.exists() or _covered(absolute.resolve(), bound):
            continue
        args += ["--ro-bind", str(absolute), str(absolute)]
        bound.append(absolute.resolve())
    return args
