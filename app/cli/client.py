"""A small synchronous client of the AIdeator HTTP API (the CLI has no event loop of its own)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from types import TracebackType
from typing import Any

import httpx

from app.cli.errors import CliError
from app.cli.sse import StreamEvent, follow_stream
from app.delivery.schemas import PushResult
from app.schemas import RunAccepted, RunCreate, RunList, RunRead

API = "/api/v1"
SHORT_ID_MIN = 4
_HINTS = {
    401: "pass the server's API key with --api-key or AIDEATOR_API_KEY",
    404: "list runs with `aideator runs list`",
    409: "the run is not in a state that allows this; see `aideator runs show`",
    503: "the server cannot run variations here; see its /api/v1/ready",
}


def _error_of(res: httpx.Response) -> CliError:
    try:
        body = res.json()["error"]
        message = str(body["message"])
        details = body.get("details")
    except (ValueError, KeyError, TypeError):
        message, details = f"the server answered {res.status_code}", None
    hint = details.get("hint") if isinstance(details, dict) else None
    return CliError(message, hint=hint or _HINTS.get(res.status_code))


class ApiClient:
    """Calls one AIdeator server; every failure becomes a CliError with a hint."""

    def __init__(self, base_url: str, *, api_key: str | None = None, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        headers = {"X-API-Key": api_key} if api_key else {}
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, headers=headers)

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def _unreachable(self, exc: httpx.HTTPError) -> CliError:
        return CliError(
            f"cannot reach the AIdeator server at {self.base_url} ({type(exc).__name__})",
            hint="start one with `aideator serve`, or leave out --server to use an embedded one",
        )

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            res = self._http.request(method, API + path, **kwargs)
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from exc
        if res.status_code >= 400:
            raise _error_of(res)
        return res

    def health(self) -> bool:
        """True when an AIdeator server answers at this address."""
        try:
            res = self._http.get(API + "/health", timeout=2.0)
            return res.status_code == 200 and res.json().get("status") == "ok"
        except (httpx.HTTPError, ValueError, AttributeError):
            return False

    def create_run(self, spec: RunCreate) -> RunAccepted:
        """Start a run."""
        body = spec.model_dump(mode="json", exclude_unset=True)
        return RunAccepted.model_validate(self._call("POST", "/runs", json=body).json())

    def get_run(self, run_id: str) -> RunRead:
        """A run with its variations."""
        return RunRead.model_validate(self._call("GET", f"/runs/{run_id}").json())

    def list_runs(
        self, *, status: str | None = None, limit: int = 20, cursor: str | None = None
    ) -> RunList:
        """A page of runs, newest first."""
        params: dict[str, Any] = {"limit": limit}
        if status:
            params["status"] = status
        if cursor:
            params["cursor"] = cursor
        return RunList.model_validate(self._call("GET", "/runs", params=params).json())

    def resolve_run_id(self, given: str) -> str:
        """A full run id from a full id or a unique prefix of one (as `runs list` shows)."""
        if len(given) >= 36 or len(given) < SHORT_ID_MIN:
            return given
        matches: list[str] = []
        cursor: str | None = None
        for _ in range(10):  # at most 2,000 recent runs
            page = self.list_runs(limit=200, cursor=cursor)
            matches += [r.id for r in page.items if r.id.startswith(given)]
            cursor = page.next_cursor
            if cursor is None:
                break
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise CliError(f"no run id starts with {given!r}", hint=_HINTS[404])
        raise CliError(f"{given!r} matches {len(matches)} runs", hint="give more of the id")

    def diff(self, run_id: str, variation_id: int) -> str:
        """A variation's patch ('' when it changed nothing)."""
        return self._call("GET", f"/runs/{run_id}/variations/{variation_id}/diff").text

    def select(self, run_id: str, variation_id: int, reason: str | None) -> RunRead:
        """Record a user's winner."""
        body: dict[str, Any] = {"winning_variation_id": variation_id}
        if reason:
            body["reason"] = reason
        return RunRead.model_validate(
            self._call("POST", f"/runs/{run_id}/select", json=body).json()
        )

    def push(
        self,
        run_id: str,
        variation_id: int,
        *,
        branch: str | None = None,
        pull_request: bool = False,
        title: str | None = None,
    ) -> PushResult:
        """Push a variation as a new branch (maybe a pull request)."""
        body: dict[str, Any] = {"pull_request": pull_request}
        if branch:
            body["branch"] = branch
        if title:
            body["title"] = title
        path = f"/runs/{run_id}/variations/{variation_id}/push"
        # A push and a pull request can take a while on a slow remote.
        return PushResult.model_validate(self._call("POST", path, json=body, timeout=300).json())

    def reply(self, run_id: str, variation_id: int, prompt: str) -> dict[str, Any]:
        """Start a variation's follow-up turn; the API's 202 body (`turn`, `stream_url`)."""
        path = f"/runs/{run_id}/variations/{variation_id}/messages"
        body: dict[str, Any] = self._call("POST", path, json={"prompt": prompt}).json()
        return body

    def fork(self, run_id: str, variation_id: int, body: dict[str, Any]) -> RunAccepted:
        """Start a new run from a variation's tree (the same answer as creating a run)."""
        path = f"/runs/{run_id}/variations/{variation_id}/fork"
        return RunAccepted.model_validate(self._call("POST", path, json=body).json())

    def last_event_id(self, run_id: str) -> int:
        """The id of a finished run's last event (reads its stream to the end)."""
        last = 0
        for event in self.events(run_id):
            if event.id is not None:
                last = event.id
        return last

    def cancel(self, run_id: str) -> RunRead:
        """Stop a run's agents."""
        return RunRead.model_validate(self._call("POST", f"/runs/{run_id}/cancel").json())

    def events(self, run_id: str, *, after: int = 0) -> Iterator[StreamEvent]:
        """The run's SSE events after `after`, live, until `complete` (reconnects on drops)."""
        try:
            yield from follow_stream(
                self._http, f"{API}/runs/{run_id}/stream", after=after, error_of=_error_of
            )
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from exc

    def preferences(
        self, *, since: datetime | None, until: datetime | None, include_diffs: bool
    ) -> Iterator[str]:
        """Preference records as JSON lines, streamed."""
        params: dict[str, Any] = {"include_diffs": str(include_diffs).lower()}
        if since is not None:
            params["since"] = since.isoformat()
        if until is not None:
            params["until"] = until.isoformat()
        try:
            with self._http.stream("GET", API + "/preferences", params=params) as res:
                if res.status_code >= 400:
                    res.read()
                    raise _error_of(res)
                for line in res.iter_lines():
                    if line.strip():
                        yield line
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from exc
