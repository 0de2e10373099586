"""The dagger backend: one `dagger call` of the module per variation."""

from app.runners.dagger.runner import ENGINE_HINT, INSTALL_HINT, DaggerRunner

__all__ = ["ENGINE_HINT", "INSTALL_HINT", "DaggerRunner"]
