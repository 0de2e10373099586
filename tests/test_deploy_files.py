"""The scale-out deploy files say what docs/scale-out.md promises."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from app.config import Settings

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
SETTINGS = {f"AIDEATOR_{name.upper()}" for name in Settings.model_fields}


def _known(env: dict[str, Any]) -> None:
    for name in env:
        if name.startswith("AIDEATOR_"):
            assert name in SETTINGS, f"{name} is not a setting"


def test_compose_runs_two_replicas_on_postgres_and_a_dagger_engine() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.replicas.yaml").read_text())
    services = compose["services"]
    replicas = [s for name, s in services.items() if name.startswith("aideator-")]
    assert len(replicas) == 2
    ids = {s["environment"]["AIDEATOR_REPLICA_ID"] for s in replicas}
    assert len(ids) == 2, "each replica needs its own id"
    for service in replicas:
        env = service["environment"]
        _known(env)
        assert env["AIDEATOR_DATABASE_URL"].startswith("postgresql+asyncpg://")
        assert env["_EXPERIMENTAL_DAGGER_RUNNER_HOST"] == "tcp://dagger-engine:1234"
        assert "aideator db upgrade" in " ".join(service["command"])
    assert {"postgres", "dagger-engine"} <= services.keys()


def test_kubernetes_deployment_is_ready_on_the_ready_route() -> None:
    docs = list(yaml.safe_load_all((DEPLOY / "kubernetes" / "aideator.yaml").read_text()))
    kinds = {d["kind"]: d for d in docs}
    assert {"Deployment", "Service"} <= kinds.keys()
    pod = kinds["Deployment"]["spec"]["template"]["spec"]
    server = pod["containers"][0]
    assert server["readinessProbe"]["httpGet"]["path"] == "/api/v1/ready"
    env = {e["name"]: e for e in server["env"]}
    _known(env)
    assert env["AIDEATOR_REPLICA_ID"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert pod["initContainers"][0]["command"] == ["aideator", "db", "upgrade"]
    assert (
        kinds["Service"]["spec"]["selector"]
        == kinds["Deployment"]["spec"]["selector"]["matchLabels"]
    )
