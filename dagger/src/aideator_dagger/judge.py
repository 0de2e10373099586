"""`compare`'s judge: the server's request (`aideator_scoring.judge_prompt` and
`judge_schema`), sent by one exec in the agent image, its answer checked in the module.

The call is a small standard-library Python program run with the agent image's Python: the
request travels as a file, the API key as a secret variable, the base URL as the agents get
it (the scripted model's service or `--gateway`). The exec prints the HTTP status and body
as one JSON line; everything else (the tool call, the strict check) happens here. A judge
failure never fails `compare`: it is recorded with `status: failed` and the error. With
synthesis the judge is asked again afterwards, by the server's rule (`judge_again`).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

import dagger
from aideator_scoring.judge_prompt import (
    OUTPUT_TAIL_CHARS,
    Candidate,
    check_summary,
    request_body,
    user_message,
)
from aideator_scoring.judge_schema import (
    TOOL_NAME,
    JudgeAnswerError,
    parse_answer,
    tool_definition,
)
from aideator_scoring.policy import rank

from .containers import AGENT_PYTHON, CACHE_BUST_ENV, Binding
from .report import VariationOutcome, facts_of

REQUEST_PATH = "/tmp/aideator/judge-request.json"
CALL_PATH = "/tmp/aideator/judge_call.py"
CALL_TIMEOUT_SECONDS = 300
COST_UNKNOWN = "cost unknown: the module has no price table; see `usage`"
# Prints {"status": <HTTP status or null>, "body": <response text>, "error": <or null>}.
CALL_PROGRAM = f"""import json, os, sys, urllib.error, urllib.request
base = (os.environ.get("ANTHROPIC_BASE_URL") or "https://api.anthropic.com").rstrip("/")
request = urllib.request.Request(
    base + "/v1/messages",
    data=open(sys.argv[1], "rb").read(),
    method="POST",
    headers={{
        "content-type": "application/json",
        "anthropic-version": "2023-06-01",
        "x-api-key": os.environ.get("ANTHROPIC_API_KEY", ""),
    }},
)
out = {{"status": None, "body": "", "error": None}}
try:
    with urllib.request.urlopen(request, timeout={CALL_TIMEOUT_SECONDS}) as answer:
        out.update(status=answer.status, body=answer.read().decode("utf-8", "replace"))
except urllib.error.HTTPError as exc:
    out.update(status=exc.code, body=exc.read().decode("utf-8", "replace"))
except Exception as exc:
    out["error"] = f"{{type(exc).__name__}}: {{exc}}"
print(json.dumps(out))
"""


class JudgeCallFailed(Exception):
    """The exec gave no tool input (HTTP error, unreachable, no tool call)."""


def judge_exec(
    image: dagger.Container,
    *,
    body: dict[str, Any],
    api_key: dagger.Secret | None,
    gateway: Binding | None,
    cache_bust: str,
) -> dagger.Container:
    """The judge's one Messages API call, run in the agent image; any exit is an answer."""
    ctr = image.with_new_file(REQUEST_PATH, json.dumps(body)).with_new_file(CALL_PATH, CALL_PROGRAM)
    if api_key is not None:
        ctr = ctr.with_secret_variable("ANTHROPIC_API_KEY", api_key)
    if gateway is not None:
        ctr = ctr.with_service_binding(gateway.alias, gateway.service).with_env_variable(
            "ANTHROPIC_BASE_URL", gateway.url
        )
    return ctr.with_env_variable(CACHE_BUST_ENV, cache_bust).with_exec(
        [AGENT_PYTHON, "-I", CALL_PATH, REQUEST_PATH], expect=dagger.ReturnType.ANY
    )


async def judge_stdout(ran: dagger.Container) -> str:
    """What the judge's exec printed (the one engine read of the judge)."""
    return await ran.stdout()


def candidates(outcomes: list[VariationOutcome], check_command: str) -> list[Candidate]:
    """The variations the judge compares: those the policy scores, by id (as the server)."""
    facts = {o.variation_id: facts_of(o) for o in outcomes}
    scored = {o.variation_id for o in rank([f.outcome for f in facts.values()])}
    return [
        Candidate(
            variation_id=o.variation_id,
            label=o.model,
            status=facts[o.variation_id].status,
            diff=o.diff,
            check=check_summary(check_command, None if o.check is None else o.check.exit_code),
            check_tail="" if o.check is None else o.check.output,
            output_tail=o.transcript[-OUTPUT_TAIL_CHARS:],
        )
        for o in outcomes
        if o.variation_id in scored
    ]


def tool_input_of(stdout: str) -> tuple[Any, dict[str, Any]]:
    """The `rank_variations` tool input and the call's usage; JudgeCallFailed otherwise."""
    try:
        out = json.loads(stdout.strip().splitlines()[-1])
    except (ValueError, IndexError) as exc:
        raise JudgeCallFailed(f"the judge's call printed no answer: {stdout[-300:]!r}") from exc
    if out.get("error"):
        raise JudgeCallFailed(f"could not reach the model: {out['error']}")
    status, text = out.get("status"), str(out.get("body") or "")
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if status != 200:
        raise JudgeCallFailed(f"HTTP {status}: {_api_message(body, text)}")
    if not isinstance(body, dict) or not isinstance(body.get("content"), list):
        raise JudgeCallFailed(f"unusable answer: not a message: {text[:300]!r}")
    usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
    for block in body["content"]:
        if isinstance(block, dict) and (block.get("type"), block.get("name")) == (
            "tool_use",
            TOOL_NAME,
        ):
            return block.get("input"), dict(usage or {})
    raise JudgeCallFailed(
        f"the judge answered without calling {TOOL_NAME} (stop_reason {body.get('stop_reason')})"
    )


def _api_message(body: Any, text: str) -> str:
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
    return text[:300] or "(empty body)"


@dataclass(frozen=True)
class JudgeRequest:
    """What every judge call of one `compare` shares."""

    model: str
    instructions: str
    prompt: str
    check_command: str
    image: dagger.Container
    api_key: dagger.Secret | None
    gateway: Binding | None
    cache_bust: str


async def _ask(
    outcomes: list[VariationOutcome], asked: JudgeRequest, call: int
) -> tuple[dict[int, dict[str, Any]], dict[str, Any]]:
    """One call: the verdicts by id (empty unless ok) and `{status, error, usage}`."""
    shown = candidates(outcomes, asked.check_command)
    if not shown:
        return {}, {"status": "skipped", "error": "no variation has a result to judge", "usage": {}}
    ids = [c.variation_id for c in shown]
    text = user_message(asked.prompt, shown, asked.instructions or None)
    body = request_body(asked.model, text, tool_definition(ids))
    ran = judge_exec(
        asked.image,
        body=body,
        api_key=asked.api_key,
        gateway=asked.gateway,
        cache_bust=f"{asked.cache_bust} judge-call={call}",
    )
    said: dict[str, Any] = {"status": "ok", "error": None, "usage": {}}
    try:
        raw, said["usage"] = tool_input_of(await judge_stdout(ran))
        return {v.variation_id: v.as_dict() for v in parse_answer(raw, ids)}, said
    except JudgeCallFailed as exc:
        return {}, said | {"status": "failed", "error": str(exc)}
    except JudgeAnswerError as exc:
        return {}, said | {"status": "failed", "error": f"invalid ranking: {exc}"}
    except Exception as exc:  # an engine error: recorded, never failing compare
        return {}, said | {"status": "failed", "error": f"the judge's exec failed: {exc}"}


def _with(
    outcomes: list[VariationOutcome], verdicts: dict[int, dict[str, Any]]
) -> list[VariationOutcome]:
    return [dataclasses.replace(o, judge=verdicts.get(o.variation_id)) for o in outcomes]


async def judge_outcomes(
    outcomes: list[VariationOutcome], asked: JudgeRequest
) -> tuple[list[VariationOutcome], dict[str, Any] | None]:
    """The outcomes with the judge's verdicts, and the report's `run.judge` entry."""
    if not asked.model.strip():
        return outcomes, None
    spec = {"model": asked.model} | (
        {"instructions": asked.instructions} if asked.instructions else {}
    )
    verdicts, said = await _ask(outcomes, asked, 1)
    entry = spec | said | {"cost_usd": None, "cost_note": COST_UNKNOWN, "calls": 1}
    return _with(outcomes, verdicts), entry


def _added(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    keys = set(first) | set(second)
    return {k: int(first.get(k) or 0) + int(second.get(k) or 0) for k in sorted(keys)}


async def judge_again(
    outcomes: list[VariationOutcome],
    entry: dict[str, Any] | None,
    synthesized: int | None,
    asked: JudgeRequest,
) -> tuple[list[VariationOutcome], dict[str, Any] | None]:
    """After synthesis, as the server: ask again over every scored variation.

    Only when the synthesized variation is scored. An `ok` answer replaces the first's
    verdicts; otherwise the first call's status and verdicts stay and `error` says what
    became of the second call.
    """
    if entry is None or synthesized is None:
        return outcomes, entry
    scored = rank([facts_of(o).outcome for o in outcomes])
    if synthesized not in {o.variation_id for o in scored}:
        return outcomes, entry
    verdicts, said = await _ask(outcomes, asked, 2)
    total = entry | {"calls": 2, "usage": _added(entry["usage"], said["usage"])}
    if said["status"] == "ok":
        return _with(outcomes, verdicts), total | {"status": "ok", "error": None}
    what = f"second call (after synthesis) {said['status']}: {said['error']}"
    if entry["status"] == "ok":
        return outcomes, total | {"error": what}
    return outcomes, total | {"error": f"{entry['error']}; {what}"}
