"""Request and response bodies of the push route."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class PushRequest(BaseModel):
    """Push a variation as a new branch; optionally open a pull request."""

    model_config = ConfigDict(extra="forbid")

    branch: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="New branch name; default `aideator/<run id's first 8>-v<n>`. An existing "
        "branch is never touched (409).",
    )
    pull_request: bool = Field(
        default=False, description="Also open a pull request through the GitHub REST API."
    )
    title: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Commit subject and pull request title; default: the prompt's first line.",
    )


class DeliveryRead(BaseModel):
    """A variation pushed as a branch."""

    variation_id: int
    branch: str
    commit: str
    pull_request_url: str | None = None
    created_at: datetime | None = None


class PushResult(BaseModel):
    """Where the variation went."""

    branch: str
    commit: str
    pull_request_url: str | None = None
