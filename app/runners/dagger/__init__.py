"""The dagger backend: one `dagger call` of the module per variation."""

from app.runners.dagger.availability import ENGINE_HINT, INSTALL_HINT
from app.runners.dagger.runner import DaggerRunner

__all__ = ["ENGINE_HINT", "INSTALL_HINT", "DaggerRunner"]
