"""Which `ref` strings are accepted, and the candidates git is asked to resolve."""

from __future__ import annotations

import re

from app.errors import RepoError

MAX_REF_CHARS = 255
REMOTE_HEAD_REF = "refs/aideator/remote-head"
_FULL_SHA = re.compile(r"([0-9a-f]{40}|[0-9a-f]{64})\Z")
_SHORT_SHA = re.compile(r"[0-9a-f]{7,63}\Z")
# git check-ref-format rules, plus nothing git's revision syntax would interpret.
_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//")


def _refuse(message: str) -> RepoError:
    return RepoError(message, details={"field": "ref"})


def check_ref_syntax(ref: str) -> str:
    """Accept a branch, tag or commit sha the way git would name it; raise RepoError if not."""
    if not ref:
        raise _refuse("ref is empty")
    if len(ref) > MAX_REF_CHARS:
        raise _refuse(f"ref is longer than {MAX_REF_CHARS} characters")
    if ref.startswith("-"):
        raise _refuse("ref may not start with '-' (it would be read as a git option)")
    if _FORBIDDEN.search(ref) or ref == "@":
        raise _refuse("ref contains characters git does not allow in branch or tag names")
    if ref.startswith("/") or ref.endswith(("/", ".", ".lock")):
        raise _refuse("ref is not a valid branch or tag name")
    if any(part.startswith(".") for part in ref.split("/")):
        raise _refuse("ref is not a valid branch or tag name")
    return ref


def is_full_sha(ref: str) -> bool:
    """True for a complete commit id (SHA-1 or SHA-256, lower-case hex)."""
    return bool(_FULL_SHA.match(ref))


def ref_candidates(ref: str | None) -> list[str]:
    """Revisions to try, in order, for a requested ref (None means the remote's HEAD)."""
    if ref is None or ref == "HEAD":
        return [REMOTE_HEAD_REF]
    if is_full_sha(ref):
        return [ref]
    if ref.startswith("refs/"):
        return [ref]
    candidates = [f"refs/heads/{ref}", f"refs/tags/{ref}"]
    if _SHORT_SHA.match(ref):
        candidates.append(ref)
    return candidates
