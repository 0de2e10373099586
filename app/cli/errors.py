"""CLI failures: one readable line plus a hint, and the exit codes scripts rely on."""

from __future__ import annotations

from typing import Final

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1  # the work ran; nothing passed (`compare`)
EXIT_USAGE: Final = 2  # bad usage, or the infrastructure failed
EXIT_INTERRUPTED: Final = 130  # Ctrl-C


class CliError(Exception):
    """A failure the user can act on: what happened, and what to try."""

    def __init__(self, message: str, *, hint: str | None = None, exit_code: int = EXIT_USAGE):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.exit_code = exit_code
