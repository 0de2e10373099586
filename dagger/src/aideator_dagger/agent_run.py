"""The object `stream-agent` returns, and the awaits that turn an agent exec into one.

No `from __future__ import annotations` here: the SDK reads field docs from the real
`Annotated` types of the dataclass fields, which postponed annotations turn into strings.
"""

import json
from typing import Annotated

import dagger
from dagger import Doc, field, object_type

from .report import CheckOutcome
from .session import exported_session, resulting_tree
from .transcript import final_result


@object_type
class AgentRun:
    """The outcome of one agent variation."""

    result: Annotated[
        str, Doc("Final result JSON: the data of the agent's `result` line, diff included")
    ] = field()
    diff: Annotated[str, Doc("The variation's patch against the base commit (may be empty)")] = (
        field()
    )
    transcript: Annotated[str, Doc("Every line the agent printed on stdout, in order")] = field()
    exit_code: Annotated[int, Doc("The agent's exit code")] = field()
    workspace: Annotated[
        dagger.Directory,
        Doc("The files after the agent ran (no .git): --source of a follow-up call"),
    ] = field()
    session: Annotated[
        dagger.Directory,
        Doc("Claude Code's session files and its id (session-id): --session of a follow-up call"),
    ] = field()


async def stdout_and_exit_code(ran: dagger.Container) -> tuple[str, int]:
    """Run the exec (once: both reads share it) and return its stdout and exit code."""
    try:
        return await ran.stdout(), await ran.exit_code()
    except dagger.ExecError as exc:
        # Signals (exit 128-191) fall outside ReturnType.ANY; the output is still an answer.
        return exc.stdout, exc.exit_code


async def collect_run(ran: dagger.Container) -> AgentRun:
    """Execute the agent and read its final result from stdout."""
    stdout, code = await stdout_and_exit_code(ran)
    result = final_result(stdout, code)
    # mypy does not take `dagger.field()` for a dataclass field specifier; the SDK does.
    return AgentRun(  # type: ignore[call-arg]
        result=json.dumps(result),
        diff=result["diff"],
        transcript=stdout,
        exit_code=result["exit_code"],
        workspace=resulting_tree(ran),
        session=exported_session(ran, str(result.get("session_id") or "")),
    )


async def collect_check(checked: dagger.Container) -> CheckOutcome:
    """Execute a check and return its exit code and combined output."""
    try:
        output, code = await checked.combined_output(), await checked.exit_code()
    except dagger.ExecError as exc:
        output, code = exc.stdout + exc.stderr, exc.exit_code
    return CheckOutcome(exit_code=code, output=output)
