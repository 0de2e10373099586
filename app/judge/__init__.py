"""The judge: one model call that ranks a run's finished variations (docs/judge.md)."""
