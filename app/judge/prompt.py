"""What the judge reads (the task, each variation's diff cut fairly, check and output
tails): shared with the Dagger module (`aideator_scoring.judge_prompt`), re-exported here."""

from aideator_scoring.judge_prompt import (
    CHECK_TAIL_CHARS,
    DIFF_BUDGET_CHARS,
    MAX_TOKENS,
    OUTPUT_TAIL_CHARS,
    SYSTEM,
    Candidate,
    check_summary,
    clip_diff,
    diff_limit,
    user_message,
)

__all__ = [
    "CHECK_TAIL_CHARS",
    "DIFF_BUDGET_CHARS",
    "MAX_TOKENS",
    "OUTPUT_TAIL_CHARS",
    "SYSTEM",
    "Candidate",
    "check_summary",
    "clip_diff",
    "diff_limit",
    "user_message",
]
