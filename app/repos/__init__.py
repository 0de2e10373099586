"""Repositories: the URL policy (SSRF, option injection), a hardened clone cache, workspaces."""

from app.repos.cache import RepoCache
from app.repos.url_policy import CheckedRepoUrl, check_repo_url, check_repo_url_syntax

__all__ = ["CheckedRepoUrl", "RepoCache", "check_repo_url", "check_repo_url_syntax"]
