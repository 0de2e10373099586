"""The judge's tool: its JSON schema, and strict validation of what the model sent.

Shared by the server (`app/judge`) and the Dagger module's `compare` (standard library only).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

TOOL_NAME = "rank_variations"
VERDICTS = ("strong", "acceptable", "weak", "wrong")
MAX_RATIONALE_CHARS = 1000


class JudgeAnswerError(Exception):
    """The judge's answer is not a usable ranking (the message says what is wrong)."""


@dataclass(frozen=True)
class Verdict:
    """What the judge said of one variation."""

    variation_id: int
    rank: int  # 1 = the judge's best
    verdict: str
    rationale: str

    def as_dict(self) -> dict[str, Any]:
        """The stored and read shape: `{"rank", "verdict", "rationale"}`."""
        return {"rank": self.rank, "verdict": self.verdict, "rationale": self.rationale}


def tool_definition(ids: list[int]) -> dict[str, Any]:
    """The tool the judge must call; its input schema names exactly these variation ids."""
    count = len(ids)
    return {
        "name": TOOL_NAME,
        "description": (
            "Record your ranking of the variations, best first, with a verdict and a short "
            "rationale for each. Every variation id appears exactly once in `ranking` and once "
            "in `variations`."
        ),
        "input_schema": {
            "type": "object",
            "properties": {
                "ranking": {
                    "type": "array",
                    "description": "Every variation id exactly once, best first.",
                    "items": {"type": "integer", "enum": list(ids)},
                    "minItems": count,
                    "maxItems": count,
                    "uniqueItems": True,
                },
                "variations": {
                    "type": "array",
                    "minItems": count,
                    "maxItems": count,
                    "items": {
                        "type": "object",
                        "properties": {
                            "variation_id": {"type": "integer", "enum": list(ids)},
                            "verdict": {"type": "string", "enum": list(VERDICTS)},
                            "rationale": {
                                "type": "string",
                                "maxLength": MAX_RATIONALE_CHARS,
                                "description": "One to three sentences: why this verdict.",
                            },
                        },
                        "required": ["variation_id", "verdict", "rationale"],
                        "additionalProperties": False,
                    },
                },
            },
            "required": ["ranking", "variations"],
            "additionalProperties": False,
        },
    }


def parse_answer(raw: Any, ids: list[int]) -> list[Verdict]:
    """The verdicts, best first; JudgeAnswerError unless every id is there exactly once.

    `raw` is the tool call's input: an object, or (from a broken answer) a JSON string.
    """
    data = _as_object(raw)
    extra = set(data) - {"ranking", "variations"}
    if extra:
        raise JudgeAnswerError(f"unexpected fields: {', '.join(sorted(extra))}")
    ranking = _ids(data.get("ranking"), ids, "ranking")
    notes = data.get("variations")
    if not isinstance(notes, list):
        raise JudgeAnswerError("`variations` must be a list")
    said = {}
    for note in notes:
        vid, verdict, rationale = _note(note)
        if vid in said:
            raise JudgeAnswerError(f"variation {vid} appears twice in `variations`")
        said[vid] = (verdict, rationale)
    _ids(list(said), ids, "variations")
    return [Verdict(vid, position, *said[vid]) for position, vid in enumerate(ranking, start=1)]


def _as_object(raw: Any) -> dict[str, Any]:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            raise JudgeAnswerError(f"invalid JSON in the tool input: {exc}") from exc
    if not isinstance(raw, dict):
        raise JudgeAnswerError(f"the tool input is {type(raw).__name__}, not an object")
    return raw


def _ids(value: Any, ids: list[int], field: str) -> list[int]:
    if not isinstance(value, list) or not all(
        isinstance(item, int) and not isinstance(item, bool) for item in value
    ):
        raise JudgeAnswerError(f"`{field}` must be a list of variation ids")
    if len(set(value)) != len(value):
        raise JudgeAnswerError(f"`{field}` names a variation more than once")
    missing, unknown = sorted(set(ids) - set(value)), sorted(set(value) - set(ids))
    if missing or unknown:
        parts = [f"missing {missing}" if missing else "", f"unknown {unknown}" if unknown else ""]
        raise JudgeAnswerError(f"`{field}`: " + ", ".join(p for p in parts if p))
    return list(value)


def _note(note: Any) -> tuple[int, str, str]:
    if not isinstance(note, dict) or set(note) != {"variation_id", "verdict", "rationale"}:
        raise JudgeAnswerError(
            "each entry of `variations` needs exactly variation_id, verdict and rationale"
        )
    vid, verdict, rationale = note["variation_id"], note["verdict"], note["rationale"]
    if not isinstance(vid, int) or isinstance(vid, bool):
        raise JudgeAnswerError("`variation_id` must be an integer")
    if verdict not in VERDICTS:
        raise JudgeAnswerError(f"variation {vid}: verdict {verdict!r} is not one of {VERDICTS}")
    if not isinstance(rationale, str) or not rationale.strip():
        raise JudgeAnswerError(f"variation {vid}: rationale must be a non-empty string")
    if len(rationale) > MAX_RATIONALE_CHARS:
        raise JudgeAnswerError(
            f"variation {vid}: rationale longer than {MAX_RATIONALE_CHARS} characters"
        )
    return vid, verdict, rationale.strip()
