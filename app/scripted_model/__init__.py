"""Anthropic-compatible scripted model: plays scenario files so Claude Code runs offline."""

from app.scripted_model.scenarios import MODEL_PREFIX, list_scenarios, scenario_exists
from app.scripted_model.server import create_app

__all__ = ["MODEL_PREFIX", "create_app", "list_scenarios", "scenario_exists"]
