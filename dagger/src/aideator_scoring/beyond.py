"""Early stop's reason and synthesis's choice and prompt: shared by the server and the
Dagger module (standard library only, like the policy), so both stop and combine alike.
"""

from __future__ import annotations

from collections.abc import Mapping

from aideator_scoring.policy import Outcome, rank

# All the diffs in a synthesis prompt together, in characters; shared fairly (fair_shares).
DIFF_LIMIT_CHARS = 48_000


def stop_reason(passed: list[int]) -> str:
    """Why the others were stopped, e.g. `stopped early: variation 2 passed`."""
    if len(passed) == 1:
        return f"stopped early: variation {passed[0]} passed"
    ids = ", ".join(str(v) for v in passed[:-1]) + f" and {passed[-1]}"
    return f"stopped early: variations {ids} passed"


def fair_shares(lengths: list[int], limit: int) -> list[int]:
    """Characters each text may keep so that together they fit `limit`.

    Every text gets an equal share; a shorter one keeps all of itself and leaves the rest of
    its share to the longer ones.
    """
    shares = [0] * len(lengths)
    left = sorted(range(len(lengths)), key=lambda i: lengths[i])
    budget = limit
    while left:
        share = budget // len(left)
        i = left[0]
        if lengths[i] > share:
            for j in left:
                shares[j] = share
            break
        shares[i] = lengths[i]
        budget -= lengths[i]
        left.pop(0)
    return shares


def synthesis_sources(outcomes: list[Outcome], top: int) -> list[Outcome] | str:
    """The `top` best-ranked variations with a non-empty diff, or why there are too few."""
    ranked = [o for o in rank(outcomes) if o.diff_files > 0]
    if len(ranked) < top:
        has = "has" if len(ranked) == 1 else "have"
        return f"synthesis needs {top} variations with a non-empty diff; {len(ranked)} {has} one"
    return ranked[:top]


def _describe(o: Outcome, position: int) -> str:
    check = {True: "check passed", False: "check failed", None: "no check ran"}[o.check_passed]
    judged = "" if o.judge_rank is None else f", judge's rank {o.judge_rank}"
    return f"rank {position}, {check}{judged}, {o.diff_files} file(s) changed"


def synthesis_prompt(task: str, chosen: list[Outcome], diffs: Mapping[int, str]) -> str:
    """The synthesized variation's prompt: the task, then the chosen diffs, cut fairly."""
    texts = [diffs.get(o.variation_id, "") for o in chosen]
    shares = fair_shares([len(t) for t in texts], DIFF_LIMIT_CHARS)
    blocks = []
    for position, (o, text, share) in enumerate(zip(chosen, texts, shares, strict=True), 1):
        shown = text[:share]
        if share < len(text):
            shown += f"\n[... diff cut: {share} of {len(text)} characters shown]\n"
        blocks.append(
            f'<diff variation="{o.variation_id}" {_describe(o, position)}>\n{shown}</diff>'
        )
    return (
        f"{task}\n\n"
        f"---\nSynthesis: {len(chosen)} attempts at this task were made independently; below "
        "are the best-ranked ones (ranked by their check, the judge's rank when there is one, "
        "then diff, cost and time). Each diff is against the commit your working tree is at; "
        "none of them is applied.\n\n"
        "Combine their strengths into one change in the working tree: keep what each does "
        "well, leave out what is wrong or redundant, and make sure the result is coherent. "
        f"The diffs share at most {DIFF_LIMIT_CHARS} characters (a cut diff says so).\n\n"
        + "\n\n".join(blocks)
    )
