"""The judge's one model call, through the gateway with the official SDK."""

from __future__ import annotations

from typing import Any, cast

import anthropic
from anthropic.types import MessageParam, ToolChoiceToolParam, ToolParam

from app.judge.prompt import MAX_TOKENS, SYSTEM
from app.judge.schema import TOOL_NAME

CALL_TIMEOUT_SECONDS = 300.0
BUDGET_STATUS = 402  # the gateway's answer when the run's budget is spent


class JudgeCallError(Exception):
    """The call gave no tool input; `skipped` when the budget refused it (no call was made)."""

    def __init__(self, message: str, *, skipped: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.skipped = skipped


async def ask_judge(
    *, base_url: str, token: str, model: str, text: str, tool: dict[str, Any]
) -> Any:
    """Send the judge request and return the input of its `rank_variations` tool call."""
    client = anthropic.AsyncAnthropic(
        api_key=token, base_url=base_url, max_retries=0, timeout=CALL_TIMEOUT_SECONDS
    )
    messages: list[MessageParam] = [{"role": "user", "content": text}]
    choice: ToolChoiceToolParam = {"type": "tool", "name": TOOL_NAME}
    try:
        message = await client.messages.create(
            model=model,
            max_tokens=MAX_TOKENS,
            system=SYSTEM,
            messages=messages,
            tools=[cast(ToolParam, tool)],
            tool_choice=choice,
        )
    except anthropic.APIStatusError as exc:
        if exc.status_code == BUDGET_STATUS:
            raise JudgeCallError(f"budget: {_api_message(exc)}", skipped=True) from exc
        raise JudgeCallError(f"HTTP {exc.status_code}: {_api_message(exc)}") from exc
    except anthropic.APITimeoutError as exc:
        raise JudgeCallError(f"no answer within {CALL_TIMEOUT_SECONDS:g} s") from exc
    except anthropic.APIConnectionError as exc:
        raise JudgeCallError(f"could not reach the model gateway: {exc}") from exc
    except anthropic.AnthropicError as exc:  # e.g. an answer that is not a message
        raise JudgeCallError(f"unusable answer: {exc}") from exc
    finally:
        await client.close()
    for block in message.content:
        if block.type == "tool_use" and block.name == TOOL_NAME:
            return block.input
    raise JudgeCallError(
        f"the judge answered without calling {TOOL_NAME} (stop_reason {message.stop_reason})"
    )


def _api_message(exc: anthropic.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
    return str(exc.message)
