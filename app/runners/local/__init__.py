"""The local backend: one bubblewrap sandbox per variation."""

from app.runners.local.runner import INSTALL_HINT, LocalRunner

__all__ = ["INSTALL_HINT", "LocalRunner"]
