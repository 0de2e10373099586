"""Import the Dagger module's source with the real dagger-io SDK, no engine needed.

The repository's `dagger/` folder (the module) must not shadow the SDK package: it has no
`__init__.py`, so a regular package named `dagger` anywhere on sys.path (site-packages)
wins over it. `test_module_registration.py` asserts that this holds.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
MODULE_SRC = REPO_ROOT / "dagger" / "src"

if str(MODULE_SRC) not in sys.path:
    sys.path.insert(0, str(MODULE_SRC))
