"""A base image for the agent image test, made from Debian's own packages (no image pull).

`debootstrap --variant=minbase` builds a root filesystem from the Debian mirror this host's
apt already uses (read from its sources at test time), with python3, python3-venv, git and
ca-certificates; it is saved as a tarball in a cache directory keyed by the recipe, and
imported into podman once. Building it takes a few minutes; later runs reuse the cache.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

BASE_PACKAGES = ("python3", "python3-venv", "git", "ca-certificates")
APT_SOURCES = (Path("/etc/apt/sources.list"), Path("/etc/apt/sources.list.d"))
PODMAN_GLOBAL = ["--runtime", "runc", "--cgroup-manager", "cgroupfs"]
DEBOOTSTRAP_TIMEOUT = 1200


class BaseUnavailable(Exception):
    """The base image cannot be made here; the message says why."""


def cache_dir() -> Path:
    """Where built bases and wheelhouses are kept between test runs."""
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    path = Path(root) / "aideator-tests"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _codename() -> str:
    text = Path("/etc/os-release").read_text()
    match = re.search(r"^VERSION_CODENAME=\"?([a-z]+)", text, re.MULTILINE)
    if match is None:
        raise BaseUnavailable("this host's /etc/os-release names no Debian release")
    return match.group(1)


def _source_files() -> list[Path]:
    files: list[Path] = []
    for source in APT_SOURCES:
        if source.is_file():
            files.append(source)
        elif source.is_dir():
            files += sorted(p for p in source.iterdir() if p.suffix in (".list", ".sources"))
    return files


def debian_mirror(codename: str) -> str:
    """The mirror URL apt on this host uses for the release's main suite."""
    for path in _source_files():
        text = path.read_text()
        if path.suffix == ".sources":
            for stanza in re.split(r"\n\s*\n", text):
                uris = re.search(r"^URIs:\s*(\S+)", stanza, re.MULTILINE)
                suites = re.search(r"^Suites:\s*(.+)$", stanza, re.MULTILINE)
                if uris and suites and codename in suites.group(1).split():
                    return uris.group(1)
        else:
            for line in text.splitlines():
                parts = line.split()
                if len(parts) >= 3 and parts[0] == "deb":
                    uri_at = next(i for i, p in enumerate(parts[1:], 1) if not p.startswith("["))
                    if parts[uri_at + 1 : uri_at + 2] == [codename]:
                        return parts[uri_at]
    raise BaseUnavailable(f"no apt source for {codename} on this host")


def base_tag() -> tuple[str, str, str]:
    """(image tag, release codename, mirror) of the base this host can build."""
    codename = _codename()
    mirror = debian_mirror(codename)
    recipe = f"{codename} minbase {','.join(BASE_PACKAGES)}"
    digest = hashlib.sha256(recipe.encode()).hexdigest()[:16]
    return f"localhost/aideator-test-base:{codename}-{digest}", codename, mirror


def podman(
    *args: str, timeout: float = 600, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run podman with the runtime settings this kind of host needs."""
    return subprocess.run(
        ["podman", *PODMAN_GLOBAL, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=check,
    )


def ensure_base() -> str:
    """The base image's tag, built with debootstrap and imported when not there yet."""
    tag, codename, mirror = base_tag()
    if podman("image", "exists", tag, check=False).returncode == 0:
        return tag
    tarball = cache_dir() / f"{tag.rpartition(':')[2]}.tar"
    if not tarball.exists():
        _debootstrap(codename, mirror, tarball)
    podman("import", str(tarball), tag)
    return tag


def _debootstrap(codename: str, mirror: str, tarball: Path) -> None:
    if shutil.which("debootstrap") is None:
        raise BaseUnavailable("debootstrap is not installed (make install adds it)")
    with tempfile.TemporaryDirectory(prefix="aideator-rootfs-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        proc = subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(BASE_PACKAGES)}",
                codename,
                str(rootfs),
                mirror,
            ],
            capture_output=True,
            text=True,
            timeout=DEBOOTSTRAP_TIMEOUT,
        )
        if proc.returncode != 0:
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
            raise BaseUnavailable(f"debootstrap failed: {' / '.join(tail)}")
        shutil.rmtree(rootfs / "var" / "cache" / "apt" / "archives", ignore_errors=True)
        partial = tarball.with_suffix(".partial")
        subprocess.run(["tar", "-C", str(rootfs), "-cf", str(partial), "."], check=True)
        partial.replace(tarball)
