"""The scripted model's HTTP app: an Anthropic Messages API look-alike that plays scenarios."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import structlog
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from app.scripted_model.conversation import (
    MissingWorkingDirectory,
    Reply,
    failed_tool_results,
    plain_reply,
    scripted_reply,
    turn_index,
    working_directory,
)
from app.scripted_model.judge import JUDGE_MODELS, judge_reply
from app.scripted_model.messages import (
    error_body,
    input_tokens,
    message_body,
    new_message_id,
    stream_events,
)
from app.scripted_model.scenarios import (
    SCENARIO_DIR,
    Scenario,
    is_scripted_model,
    load_scenarios,
    scenario_name,
)

log = structlog.get_logger()

MAX_BODY_BYTES = 32 * 1024 * 1024  # the real API's request size limit
SIDE_REPLY = "Scripted model (not Claude): no answer for this side request."
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
}


class ApiError(Exception):
    """An error answered with the API's JSON error body and status."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


def create_app(scenario_dir: Path = SCENARIO_DIR, *, chunk_delay: float = 0.0) -> Starlette:
    """The scripted model app; `chunk_delay` seconds pause between streamed events."""
    scenarios = load_scenarios(scenario_dir)  # fail at startup on a broken scenario file

    async def messages(request: Request) -> Response:
        """POST /v1/messages: the scripted reply, streamed or whole."""
        body = await _json_body(request)
        model = _model(body)
        conversation = body.get("messages")
        if not isinstance(conversation, list):
            raise ApiError(400, "messages: field required (a list)")
        reply, scenario, turn = _reply_for(scenarios, model, body, conversation)
        count = input_tokens(body)
        message_id = new_message_id()
        log.info(
            "scripted_model.reply",
            model=model,
            scenario=scenario,
            turn=turn,
            stream=bool(body.get("stream")),
            stop_reason=reply.stop_reason,
            tools=[block["name"] for block in reply.content if block["type"] == "tool_use"],
        )
        headers = {"request-id": f"req_scripted_{uuid.uuid4().hex[:24]}"}
        if not body.get("stream"):
            payload = message_body(reply, message_id=message_id, model=model, input_count=count)
            return JSONResponse(payload, headers=headers)
        events = stream_events(reply, message_id=message_id, model=model, input_count=count)
        return StreamingResponse(
            _paced(events, chunk_delay),
            media_type="text/event-stream",
            headers={**headers, "cache-control": "no-cache"},
        )

    async def count_tokens(request: Request) -> Response:
        """POST /v1/messages/count_tokens: an estimate from the request size."""
        body = await _json_body(request)
        model = _model(body)
        name = scenario_name(model)
        if is_scripted_model(model) and name not in scenarios and name not in JUDGE_MODELS:
            raise ApiError(404, _unknown_model(model, scenarios))
        return JSONResponse({"input_tokens": input_tokens(body)})

    async def list_models(request: Request) -> Response:
        """GET /v1/models: one model per scenario."""
        data = [_model_info(name) for name in sorted(scenarios)]
        return JSONResponse(
            {
                "data": data,
                "has_more": False,
                "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None,
            }
        )

    async def get_model(request: Request) -> Response:
        """GET /v1/models/{model_id}: one scenario as a model."""
        model = str(request.path_params["model_id"])
        if not is_scripted_model(model) or scenario_name(model) not in scenarios:
            raise ApiError(404, _unknown_model(model, scenarios))
        return JSONResponse(_model_info(scenario_name(model)))

    async def unknown_path(request: Request) -> Response:
        """Anything else: a clean not_found_error, logged so new client calls show up."""
        log.warning("scripted_model.unknown_path", method=request.method, path=request.url.path)
        raise ApiError(404, f"Not found: {request.method} {request.url.path}")

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
    routes = [
        Route("/v1/messages", messages, methods=["POST"]),
        Route("/v1/messages/count_tokens", count_tokens, methods=["POST"]),
        Route("/v1/models", list_models, methods=["GET"]),
        Route("/v1/models/{model_id:path}", get_model, methods=["GET"]),
        Route("/{path:path}", unknown_path, methods=methods),
    ]
    return Starlette(
        routes=routes,
        exception_handlers={
            ApiError: _api_error,
            HTTPException: _http_error,
            Exception: _internal_error,
        },
    )


def _reply_for(
    scenarios: dict[str, Scenario], model: str, body: dict[str, Any], conversation: list[Any]
) -> tuple[Reply, str | None, int]:
    if not is_scripted_model(model):
        # Claude Code's small/fast model requests (titles, summaries) land here.
        return plain_reply(SIDE_REPLY), None, 0
    name = scenario_name(model)
    if name in JUDGE_MODELS and name not in scenarios:
        return judge_reply(name, body), name, 0
    scenario = scenarios.get(name)
    if scenario is None:
        log.warning("scripted_model.unknown_scenario", model=model, stream=bool(body.get("stream")))
        raise ApiError(404, _unknown_model(model, scenarios))
    turn = turn_index(conversation)
    for failure in failed_tool_results(conversation):
        # The scenario goes on regardless; this tells its author which call went wrong.
        log.warning(
            "scripted_model.tool_error",
            scenario=name,
            turn=turn,
            tool_use_id=failure.tool_use_id,
            error=failure.text[:300],
        )
    cwd = working_directory(body.get("system"), conversation)
    try:
        reply = scripted_reply(scenario, turn, cwd=cwd, tools_offered=bool(body.get("tools")))
    except MissingWorkingDirectory as exc:
        raise ApiError(400, str(exc)) from exc
    return reply, name, turn


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(413, "Request exceeds the maximum allowed number of bytes.")
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise ApiError(400, f"The request body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    return body


def _model(body: dict[str, Any]) -> str:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise ApiError(400, "model: field required (a string)")
    return model


def _unknown_model(model: str, scenarios: dict[str, Scenario]) -> str:
    known = ", ".join(f"scripted/{name}" for name in sorted(scenarios))
    return f"model: {model} (unknown scenario; known: {known})"


def _model_info(name: str) -> dict[str, Any]:
    return {
        "type": "model",
        "id": f"scripted/{name}",
        "display_name": f"Scripted scenario {name} (not Claude)",
        "created_at": "2025-01-01T00:00:00Z",
    }


async def _paced(events: Iterator[str], delay: float) -> AsyncIterator[str]:
    for event in events:
        yield event
        if delay > 0:
            await asyncio.sleep(delay)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    error_type = _ERROR_TYPES.get(exc.status_code, "api_error")
    return JSONResponse(error_body(error_type, exc.message), status_code=exc.status_code)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    error_type = _ERROR_TYPES.get(exc.status_code, "api_error")
    return JSONResponse(error_body(error_type, str(exc.detail)), status_code=exc.status_code)


async def _internal_error(request: Request, exc: Exception) -> Response:
    log.exception("scripted_model.internal_error", path=request.url.path)
    return JSONResponse(error_body("api_error", "Internal server error"), status_code=500)
