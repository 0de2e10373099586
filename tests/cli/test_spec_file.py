"""The run spec from YAML/JSON files and flags: one RunCreate, checked like the API checks it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from app.cli.errors import CliError
from app.cli.runs_common import pin_local_head
from app.cli.spec_file import SpecFlags, build_run_spec, is_local_repo
from app.schemas import EarlyStopPassing, RunCreate, VariationSpec
from tests.conftest import make_git_repo

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "run-spec.yaml"


def test_example_spec_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = build_run_spec(EXAMPLE, SpecFlags())
    assert isinstance(spec, RunCreate)
    assert spec.repo_url == str(EXAMPLE.parent / "sample-repo")
    assert spec.check_command == "python3 -m unittest -q"
    assert isinstance(spec.variations, list) and len(spec.variations) == 3


def test_yaml_and_json_give_the_same_spec(tmp_path: Path) -> None:
    body = {
        "repo_url": "https://github.com/example/repo.git",
        "prompt": "Fix it",
        "variations": [{"model": "claude-sonnet-4-5"}, {"model": "claude-opus-4-1"}],
        "check_command": "pytest -q",
        "budget_usd": 2.5,
        "winner_policy": "best_score",
    }
    (tmp_path / "s.json").write_text(json.dumps(body))
    (tmp_path / "s.yaml").write_text(
        "repo_url: https://github.com/example/repo.git\nprompt: Fix it\n"
        "variations:\n  - model: claude-sonnet-4-5\n  - model: claude-opus-4-1\n"
        "check_command: pytest -q\nbudget_usd: 2.5\nwinner_policy: best_score\n"
    )
    from_json = build_run_spec(tmp_path / "s.json", SpecFlags())
    from_yaml = build_run_spec(tmp_path / "s.yaml", SpecFlags())
    assert from_json == from_yaml == RunCreate.model_validate(body)


def test_flags_override_the_file(tmp_path: Path) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text("repo_url: repo\nprompt: from file\nvariations: 2\ncheck_command: make\n")
    got = build_run_spec(
        spec, SpecFlags(prompt="from flag", models=["scripted/fix-bad"], timeout=30.0)
    )
    assert got.prompt == "from flag" and got.check_command == "make"
    assert got.variations == 2 and got.timeout_seconds == 30.0
    assert got.agent_config == VariationSpec(model="scripted/fix-bad")
    assert got.repo_url == str(tmp_path / "repo")  # relative to the spec file


def test_models_and_count(tmp_path: Path) -> None:
    base = SpecFlags(repo="https://example.com/r.git", prompt="p")
    several = build_run_spec(None, SpecFlags(**{**base.__dict__, "models": ["a/x", "b/y"]}))
    assert several.variations == [VariationSpec(model="a/x"), VariationSpec(model="b/y")]
    with pytest.raises(CliError, match="several --model"):
        build_run_spec(None, SpecFlags(**{**base.__dict__, "models": ["a", "b"], "variations": 3}))


def test_prompt_file_and_local_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "task.md").write_text("Do the thing\nwell.\n")
    got = build_run_spec(None, SpecFlags(repo="./repo", prompt_file=Path("task.md")))
    assert got.prompt == "Do the thing\nwell.\n"
    assert got.repo_url == str(tmp_path / "repo")
    assert is_local_repo("./repo") and is_local_repo("file:///srv/r")
    assert not is_local_repo("https://github.com/a/b")


def test_default_policy_only_when_unset(tmp_path: Path) -> None:
    flags = SpecFlags(repo="https://example.com/r.git", prompt="p")
    assert build_run_spec(None, flags, default_policy="best_score").winner_policy == "best_score"
    spec = tmp_path / "s.yaml"
    spec.write_text("repo_url: https://example.com/r.git\nprompt: p\nwinner_policy: manual\n")
    assert build_run_spec(spec, SpecFlags(), default_policy="best_score").winner_policy == "manual"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1, 2]", "must hold a mapping"),
        ("repo_url: [unclosed", "is not valid YAML or JSON"),
        (
            "repo_url: x\nprompt: p\nvariations: [{modle: x}]",
            "invalid run spec: variations.0.modle: Extra inputs are not permitted",
        ),
        ("repo_url: x\nprompt: p\ncolour: red", "colour: Extra inputs are not permitted"),
        ("prompt: p", "no repository given"),
        ("repo_url: x\nprompt: p\nvariations: many", "variations: Input should be a valid"),
        ("repo_url: x", "no prompt given"),
    ],
)
def test_bad_specs_are_one_readable_error(tmp_path: Path, text: str, message: str) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text(text)
    with pytest.raises(CliError) as caught:
        build_run_spec(spec, SpecFlags())
    assert message in caught.value.message
    assert caught.value.exit_code == 2 and "\n" not in caught.value.message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CliError, match="cannot read spec file"):
        build_run_spec(tmp_path / "nope.yaml", SpecFlags())


def test_local_checkout_is_pinned_to_its_commit(tmp_path: Path) -> None:
    repo = make_git_repo(tmp_path / "r", {"a.txt": "a\n"})
    head = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    subprocess.run(["git", "-C", str(repo), "checkout", "-q", "--detach"], check=True)
    body = build_run_spec(None, SpecFlags(repo=str(repo), prompt="p"))
    assert pin_local_head(body).ref == head
    with_ref = build_run_spec(None, SpecFlags(repo=str(repo), prompt="p", ref="main"))
    assert pin_local_head(with_ref).ref == "main"
    remote = build_run_spec(None, SpecFlags(repo="https://example.com/r.git", prompt="p"))
    assert pin_local_head(remote).ref is None


def test_setup_fields_from_file_and_flags(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(
        "repo_url: https://github.com/example/repo.git\nprompt: Fix it\n"
        "setup_command: pip install -e .\nsetup_timeout_seconds: 120\nnetwork: egress\n"
    )
    from_file = build_run_spec(tmp_path / "s.yaml", SpecFlags())
    assert from_file.setup_command == "pip install -e ."
    assert from_file.setup_timeout_seconds == 120 and from_file.network == "egress"
    flags = SpecFlags(setup="npm ci", setup_timeout=60, network="none", image="node:22")
    overridden = build_run_spec(tmp_path / "s.yaml", flags)
    assert overridden.setup_command == "npm ci" and overridden.setup_timeout_seconds == 60
    assert overridden.network == "none" and overridden.image == "node:22"
    with pytest.raises(CliError, match="network"):
        build_run_spec(tmp_path / "s.yaml", SpecFlags(network="internet"))


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("first_pass", "first_pass"),
        ("first-pass", "first_pass"),
        ("never", "never"),
        ("2", EarlyStopPassing(passing=2)),
    ],
)
def test_early_stop_flag(flag: str, value: object) -> None:
    flags = SpecFlags(repo="https://github.com/e/r.git", prompt="p", check="true")
    flags.early_stop = flag
    assert build_run_spec(None, flags).early_stop == value


@pytest.mark.parametrize("flag", ["0", "sometimes", "-1"])
def test_bad_early_stop_flag_is_one_line(flag: str) -> None:
    flags = SpecFlags(repo="https://github.com/e/r.git", prompt="p", early_stop=flag)
    with pytest.raises(CliError, match="--early-stop takes never, first_pass or a number"):
        build_run_spec(None, flags)


def test_synthesize_flags() -> None:
    flags = SpecFlags(repo="https://github.com/e/r.git", prompt="p", synthesize=3)
    spec = build_run_spec(None, flags)
    assert spec.synthesize is not None and spec.synthesize.top == 3
    assert spec.synthesize.model is None
    flags.synthesis_model = "claude-opus-4-1"
    spec = build_run_spec(None, flags)
    assert spec.synthesize is not None and spec.synthesize.model == "claude-opus-4-1"
    assert (
        build_run_spec(None, SpecFlags(repo="https://github.com/e/r.git", prompt="p")).synthesize
        is None
    )


def test_synthesis_flags_override_the_spec_file(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(
        "repo_url: https://github.com/e/r.git\nprompt: p\n"
        "synthesize: {top: 2, model: claude-sonnet-4-5}\n"
    )
    kept = build_run_spec(tmp_path / "s.yaml", SpecFlags(synthesis_model="claude-opus-4-1"))
    assert kept.synthesize is not None
    assert (kept.synthesize.top, kept.synthesize.model) == (2, "claude-opus-4-1")
    topped = build_run_spec(tmp_path / "s.yaml", SpecFlags(synthesize=3))
    assert topped.synthesize is not None
    assert (topped.synthesize.top, topped.synthesize.model) == (3, "claude-sonnet-4-5")


def test_synthesis_model_alone_is_a_clear_error() -> None:
    flags = SpecFlags(repo="https://github.com/e/r.git", prompt="p", synthesis_model="m")
    with pytest.raises(CliError, match="--synthesis-model needs --synthesize K"):
        build_run_spec(None, flags)


def test_judge_flags() -> None:
    flags = SpecFlags(repo="https://github.com/e/r.git", prompt="p", judge="claude-opus-4-1")
    spec = build_run_spec(None, flags)
    assert spec.judge is not None and spec.judge.model == "claude-opus-4-1"
    assert spec.judge.instructions is None
    flags.judge_instructions = "Prefer small diffs."
    spec = build_run_spec(None, flags)
    assert spec.judge is not None and spec.judge.instructions == "Prefer small diffs."


def test_judge_instructions_alone_is_a_clear_error(tmp_path: Path) -> None:
    flags = SpecFlags(repo="https://github.com/e/r.git", prompt="p", judge_instructions="x")
    with pytest.raises(CliError, match="--judge-instructions needs --judge MODEL"):
        build_run_spec(None, flags)
    (tmp_path / "s.yaml").write_text(
        "repo_url: https://github.com/e/r.git\nprompt: p\njudge: {model: claude-opus-4-1}\n"
    )
    kept = build_run_spec(tmp_path / "s.yaml", SpecFlags(judge_instructions="Be strict."))
    assert kept.judge is not None
    assert (kept.judge.model, kept.judge.instructions) == ("claude-opus-4-1", "Be strict.")
