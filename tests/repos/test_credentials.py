"""Host-side git credentials: the store format, host matching, and a private clone."""

from __future__ import annotations

import base64
import secrets
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.errors import RepoError
from app.repos.cache import RepoCache
from app.repos.credentials import GitCredentials, parse_line

from .conftest import SourceRepo
from .git_http import GitHttpServer


def _store(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    return path


class TestParseLine:
    def test_store_format_with_escapes(self) -> None:
        cred = parse_line("https://me%40corp:t%2Fok@Git.Example.com")
        assert cred is not None
        assert (cred.scheme, cred.host, cred.port, cred.path) == (
            "https",
            "git.example.com",
            443,
            "",
        )
        assert (cred.username, cred.password) == ("me@corp", "t/ok")

    def test_port_and_path(self) -> None:
        cred = parse_line("http://u:p@127.0.0.1:8080/team/")
        assert cred is not None and (cred.port, cred.path) == (8080, "/team")

    @pytest.mark.parametrize(
        "line", ["ssh://u:p@host", "https://host", "https://u@host", "not a url", "https://u:p@"]
    )
    def test_unusable_lines(self, line: str) -> None:
        assert parse_line(line) is None

    def test_repr_hides_the_secret(self) -> None:
        assert "s3cret" not in repr(parse_line("https://u:s3cret@host.example"))

    @given(st.text(max_size=80))
    def test_never_raises(self, line: str) -> None:
        parse_line(line)


class TestLookup:
    async def test_only_the_exact_origin_matches(self, tmp_path: Path) -> None:
        store = _store(
            tmp_path / "creds",
            "# comment",
            "https://u:one@git.example.com",
            "garbage line",
            "https://u:two@git.example.com:8443",
            "https://u:three@other.example.com/team",
        )
        creds = GitCredentials(store)
        found = await creds.for_url("https://git.example.com/a/b.git")
        assert found is not None and found.password == "one"
        found = await creds.for_url("https://git.example.com:8443/a/b.git")
        assert found is not None and found.password == "two"
        assert await creds.for_url("http://git.example.com/a/b.git") is None  # other scheme
        assert await creds.for_url("https://evil.git.example.com/a.git") is None
        assert await creds.for_url("https://git.example.com.evil.net/a.git") is None
        assert await creds.for_url("https://other.example.com/teammate/x.git") is None
        found = await creds.for_url("https://other.example.com/team/x.git")
        assert found is not None and found.password == "three"

    async def test_github_token_is_for_github_com_only(self, tmp_path: Path) -> None:
        creds = GitCredentials(_store(tmp_path / "c", "https://u:mine@github.com/me"), "ghp_x")
        found = await creds.for_url("https://github.com/me/repo.git")
        assert found is not None and found.password == "mine"  # a matching line wins
        found = await creds.for_url("https://github.com/other/repo.git")
        assert found is not None and (found.username, found.password) == ("x-access-token", "ghp_x")
        assert await creds.for_url("https://gitlab.com/other/repo.git") is None
        assert await creds.for_url("https://api.github.com/") is None

    async def test_unreadable_file_is_one_clear_error(self, tmp_path: Path) -> None:
        with pytest.raises(RepoError, match="AIDEATOR_GIT_CREDENTIALS: cannot read"):
            await GitCredentials(tmp_path / "missing").for_url("https://h.example.com/r.git")


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class TestPrivateClone:
    async def test_clone_with_stored_credentials(
        self, tmp_path: Path, source_repo: SourceRepo
    ) -> None:
        token = f"canary-{secrets.token_hex(8)}"
        with GitHttpServer(source_repo.bare.parent, auth=("git", token)) as server:
            store = _store(
                tmp_path / "creds", f"http://git:{token}@127.0.0.1:{server.server_address[1]}"
            )
            cache = RepoCache(
                tmp_path / "cache", allow_local=True, credentials=GitCredentials(store)
            )
            sha = await cache.prepare(run_id="r", repo_url=f"{server.base_url}/repo.git", ref=None)
            workspace = await cache.add_worktree(run_id="r", variation_id=0, base_sha=sha)
        assert sha == source_repo.main
        assert _basic("git", token) in server.authorizations
        for path in [*(tmp_path / "cache").rglob("*"), *workspace.rglob("*")]:
            if path.is_file():
                assert token.encode() not in path.read_bytes(), f"token in {path}"

    async def test_without_credentials_the_error_says_so(
        self, tmp_path: Path, source_repo: SourceRepo
    ) -> None:
        cache = RepoCache(tmp_path / "cache", allow_local=True, clone_timeout=20)
        with GitHttpServer(source_repo.bare.parent, auth=("git", "x")) as server:
            with pytest.raises(RepoError) as caught:
                await cache.prepare(run_id="r", repo_url=f"{server.base_url}/repo.git", ref=None)
        assert caught.value.message.startswith("no credentials for 127.0.0.1")
        assert caught.value.code == "git_auth_failed"

    async def test_wrong_credentials_are_named_refused(
        self, tmp_path: Path, source_repo: SourceRepo
    ) -> None:
        with GitHttpServer(source_repo.bare.parent, auth=("git", "right")) as server:
            port = server.server_address[1]
            store = _store(tmp_path / "creds", f"http://git:wrong@127.0.0.1:{port}")
            cache = RepoCache(
                tmp_path / "cache", allow_local=True, credentials=GitCredentials(store)
            )
            with pytest.raises(RepoError) as caught:
                await cache.prepare(run_id="r", repo_url=f"{server.base_url}/repo.git", ref=None)
        assert (
            caught.value.message
            == "the credentials stored for 127.0.0.1 were refused by the remote"
        )
        assert "wrong" not in caught.value.message

    async def test_credentials_go_to_their_own_port_only(
        self, tmp_path: Path, source_repo: SourceRepo
    ) -> None:
        token = f"canary-{secrets.token_hex(8)}"
        with (
            GitHttpServer(source_repo.bare.parent, auth=("git", "other")) as other,
            GitHttpServer(source_repo.bare.parent, auth=("git", token)) as owner,
        ):
            store = _store(
                tmp_path / "creds", f"http://git:{token}@127.0.0.1:{owner.server_address[1]}"
            )
            cache = RepoCache(
                tmp_path / "cache", allow_local=True, credentials=GitCredentials(store)
            )
            with pytest.raises(RepoError, match=r"no credentials for 127\.0\.0\.1"):
                await cache.prepare(run_id="r", repo_url=f"{other.base_url}/repo.git", ref=None)
        assert all(token not in header for header in other.authorizations)

    async def test_never_after_a_redirect(self, tmp_path: Path, source_repo: SourceRepo) -> None:
        token = f"canary-{secrets.token_hex(8)}"
        with (
            GitHttpServer(source_repo.bare.parent, auth=("git", token)) as target,
            GitHttpServer(tmp_path, redirect_to=target.base_url) as redirector,
        ):
            port = redirector.server_address[1]
            store = _store(tmp_path / "creds", f"http://git:{token}@127.0.0.1:{port}")
            cache = RepoCache(
                tmp_path / "cache", allow_local=True, credentials=GitCredentials(store)
            )
            with pytest.raises(RepoError, match="302"):
                await cache.prepare(
                    run_id="r", repo_url=f"{redirector.base_url}/repo.git", ref=None
                )
        assert redirector.requests and target.requests == []


async def test_clone_with_a_path_scoped_line(tmp_path: Path, source_repo: SourceRepo) -> None:
    token = f"canary-{secrets.token_hex(8)}"
    with GitHttpServer(source_repo.bare.parent.parent, auth=("git", token)) as server:
        port = server.server_address[1]
        store = _store(tmp_path / "creds", f"http://git:{token}@127.0.0.1:{port}/srv")
        cache = RepoCache(tmp_path / "cache", allow_local=True, credentials=GitCredentials(store))
        sha = await cache.prepare(run_id="r", repo_url=f"{server.base_url}/srv/repo.git", ref=None)
    assert sha == source_repo.main
