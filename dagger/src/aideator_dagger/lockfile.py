"""pip constraints from the repository's uv.lock, so services install the locked versions."""

from __future__ import annotations

import tomllib
from collections import defaultdict


def constraints_from_uv_lock(text: str) -> str:
    """One `name==version` line per registry package the lock pins to a single version."""
    versions: dict[str, set[str]] = defaultdict(set)
    for package in tomllib.loads(text).get("package", []):
        if "registry" in package.get("source", {}) and "version" in package:
            versions[package["name"]].add(package["version"])
    # A package locked at several versions (per-platform forks) is left unconstrained:
    # two pins for one name would make pip refuse the whole install.
    pins = sorted(f"{name}=={next(iter(v))}" for name, v in versions.items() if len(v) == 1)
    return "".join(f"{pin}\n" for pin in pins)
