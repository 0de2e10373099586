"""Follows a run to its end: lines and status live; Ctrl-C cancels the run cleanly."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from rich.live import Live

from app.cli.client import ApiClient
from app.cli.console import out, warn
from app.cli.errors import CliError
from app.cli.live import RunView
from app.schemas import RunAccepted, RunRead

POLL_SECONDS = 2.0


@dataclass
class Followed:
    """A finished run, the agent lines seen per variation, and whether Ctrl-C stopped it."""

    run: RunRead
    transcripts: dict[int, list[dict[str, Any]]]
    cancelled_by_user: bool


class _CostPoller:
    """Refreshes metered tokens and cost on the status lines while the run goes."""

    def __init__(self, client: ApiClient, run_id: str, view: RunView) -> None:
        self._base_url, self._api_key = client.base_url, client.api_key
        self._run_id, self._view = run_id, view
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="aideator-costs", daemon=True)

    def _loop(self) -> None:
        with ApiClient(self._base_url, api_key=self._api_key, timeout=5.0) as client:
            while not self._stop.wait(POLL_SECONDS):
                with contextlib.suppress(CliError):
                    self._view.update_costs(client.get_run(self._run_id))

    def __enter__(self) -> _CostPoller:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5.0)


def _pump(client: ApiClient, run_id: str, view: RunView, after: int) -> None:
    """Feed events to the view until the stream ends."""
    for event in client.events(run_id, after=after):
        view.handle(event)
        if event.id is not None:
            view.last_event_id = event.id


def _cancel(client: ApiClient, run_id: str) -> None:
    warn("Ctrl-C: cancelling the run… (press Ctrl-C again to stop waiting)")
    try:
        client.cancel(run_id)
    except CliError as exc:  # it may have finished meanwhile
        warn(f"cancel: {exc.message}")


@contextlib.contextmanager
def _display(view: RunView, live: bool) -> Iterator[None]:
    if not (live and view.console.is_terminal):
        yield
        return
    with Live(view, console=view.console, refresh_per_second=4, transient=True):
        yield


def follow_run(
    client: ApiClient,
    accepted: RunAccepted,
    *,
    show_lines: bool = True,
    live: bool = True,
    quiet: bool = False,
    after: int = 0,
) -> Followed:
    """Stream the run into the terminal until it ends; Ctrl-C cancels it and waits for the end.

    `after`: start after this event id (a follow-up turn shows only its own events).
    """
    view = RunView(out(), accepted.variations, show_lines=show_lines, quiet=quiet)
    run_id = accepted.run_id
    cancelled = False
    poller = (
        _CostPoller(client, run_id, view)
        if live and view.console.is_terminal
        else contextlib.nullcontext()
    )
    with poller, _display(view, live):
        try:
            _pump(client, run_id, view, after)
        except KeyboardInterrupt:
            cancelled = True
            _cancel(client, run_id)
            with contextlib.suppress(KeyboardInterrupt):
                _pump(client, run_id, view, view.last_event_id)
    return Followed(client.get_run(run_id), view.transcripts, cancelled)
