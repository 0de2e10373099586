"""Accepted ref spellings and the order they are resolved in."""

from __future__ import annotations

import pytest

from app.errors import RepoError
from app.repos.refs import REMOTE_HEAD_REF, check_ref_syntax, ref_candidates

SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.mark.parametrize(
    "ref", ["main", "feature/x-1", "v1.2.3", "release_2024", SHA, "refs/heads/main", "abc1234"]
)
def test_accepted_refs(ref: str) -> None:
    assert check_ref_syntax(ref) == ref


@pytest.mark.parametrize(
    "ref",
    [
        "",
        "-main",
        "--upload-pack=x",
        "main~1",
        "main^",
        "HEAD@{1}",
        ":/fix",
        "a..b",
        "with space",
        "tab\t",
        "star*",
        "q?",
        "[x]",
        "back\\slash",
        "/main",
        "main/",
        "main.",
        "main.lock",
        ".hidden",
        "a/.b",
        "a//b",
        "@",
        "x" * 256,
    ],
)
def test_refused_refs(ref: str) -> None:
    with pytest.raises(RepoError) as caught:
        check_ref_syntax(ref)
    assert caught.value.details == {"field": "ref"}


def test_candidates_order() -> None:
    assert ref_candidates(None) == [REMOTE_HEAD_REF]
    assert ref_candidates("HEAD") == [REMOTE_HEAD_REF]
    assert ref_candidates(SHA) == [SHA]
    assert ref_candidates("main") == ["refs/heads/main", "refs/tags/main"]
    assert ref_candidates("abc1234") == ["refs/heads/abc1234", "refs/tags/abc1234", "abc1234"]
    assert ref_candidates("refs/tags/v1") == ["refs/tags/v1"]
