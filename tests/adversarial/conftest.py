"""The adversarial suite runs real daemons with the integration suite's helpers, loaded under their own module
name (`from integration_helpers import ...` never depends on which conftest pytest imported last). They are also
this conftest's names: pytest keeps only the last conftest it loaded as the module `conftest`, and the integration
tests' `from conftest import ...` must work whichever that is (e.g. `pytest tests/integration tests/adversarial`)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "integration_helpers", Path(__file__).resolve().parents[1] / "integration" / "conftest.py"
)
assert _spec is not None and _spec.loader is not None
helpers = importlib.util.module_from_spec(_spec)
sys.modules["integration_helpers"] = helpers
_spec.loader.exec_module(helpers)

globals().update({name: value for name, value in vars(helpers).items() if not name.startswith("__")})
