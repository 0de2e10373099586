"""Where the files the installed package carries live: agent program, sample, module, page.

A built wheel carries, under `app/_bundle/`, what the build copied from the repository
(`agent_image/`, the Dagger module, the sample repository); see pyproject.toml's
force-include. An editable install of a checkout has no `_bundle/`: there the package's own
repository holds the same files, at the same relative paths.
"""

from __future__ import annotations

from functools import cache
from importlib import metadata, resources
from pathlib import Path

BUNDLE = "_bundle"
_MARKERS = ("dagger.json", "agent_image/src/aideator_agent/__init__.py")


class PackageFilesMissing(RuntimeError):
    """The installation lacks files every run needs (a broken or partial install)."""


def package_dir() -> Path:
    """The directory of the installed `app` package."""
    return Path(str(resources.files("app")))


def _is_bundle(root: Path) -> bool:
    return all((root / marker).is_file() for marker in _MARKERS)


@cache
def bundle_root() -> Path:
    """The folder holding agent_image/, dagger/, dagger.json and examples/sample-repo."""
    packaged = package_dir() / BUNDLE
    if _is_bundle(packaged):
        return packaged
    checkout = package_dir().parent  # an editable install: the package's own repository
    if _is_bundle(checkout) and (checkout / "pyproject.toml").is_file():
        return checkout
    raise PackageFilesMissing(
        f"the installed aideator package has no {BUNDLE}/ folder ({packaged}); "
        "reinstall it from a wheel built with `uv build`"
    )


def is_bundled() -> bool:
    """True when the files come from the installed package, not from a checkout."""
    return bundle_root() == package_dir() / BUNDLE


def agent_source_dir() -> Path:
    """The folder to put on PYTHONPATH so `python -m aideator_agent` runs the agent program."""
    return bundle_root() / "agent_image" / "src"


def sample_repo_dir() -> Path:
    """The sample repository `aideator demo` works on."""
    return bundle_root() / "examples" / "sample-repo"


def dagger_module_dir() -> Path:
    """The Dagger module (the folder with dagger.json) the dagger backend calls."""
    return bundle_root()


def version() -> str:
    """The installed distribution's version."""
    try:
        return metadata.version("aideator")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"
