"""The judge's tool and the strict check of its answer: shared with the Dagger module
(`aideator_scoring.judge_schema`), re-exported here for the server."""

from aideator_scoring.judge_schema import (
    MAX_RATIONALE_CHARS,
    TOOL_NAME,
    VERDICTS,
    JudgeAnswerError,
    Verdict,
    parse_answer,
    tool_definition,
)

__all__ = [
    "MAX_RATIONALE_CHARS",
    "TOOL_NAME",
    "VERDICTS",
    "JudgeAnswerError",
    "Verdict",
    "parse_answer",
    "tool_definition",
]
