"""Workflow files: GitHub runs every file in .github/workflows, so examples live elsewhere."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from packaging.requirements import Requirement

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO_ROOT / ".github" / "workflows"
EXAMPLE = REPO_ROOT / "examples" / "compare-agents.yml"


def _load(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), path
    return data


def test_workflows_folder_holds_no_example() -> None:
    for path in sorted(WORKFLOWS.iterdir()):
        text = path.read_text()
        assert "example" not in path.name, f"{path.name}: examples belong in examples/"
        assert "YOUR-ORG" not in text, f"{path.name} has a placeholder: it is an example"


def test_example_installs_the_package_it_names() -> None:
    workflow = _load(EXAMPLE)
    package = Requirement(workflow["env"]["AIDEATOR_PACKAGE"])
    assert package.name == "aideator" and package.url is not None
    steps = [step for job in workflow["jobs"].values() for step in job["steps"]]
    scripts = "\n".join(str(step.get("run", "")) for step in steps)
    assert 'uv tool install --python 3.12 "$AIDEATOR_PACKAGE"' in scripts
    assert "aideator --version" in scripts
    assert "aideator compare" in scripts


def test_docs_point_at_the_example() -> None:
    for doc in ("README.md", "docs/cli.md"):
        text = (REPO_ROOT / doc).read_text()
        assert "examples/compare-agents.yml" in text, doc
        assert "compare-agents.example.yml" not in text, doc
