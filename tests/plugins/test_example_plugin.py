"""The example plugin package's own tests, run with the main suite: its src/ goes on sys.path
(nothing is installed) and its tests/test_example.py is loaded by path."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "gatewayd-plugin-example"
if str(EXAMPLE / "src") not in sys.path:
    sys.path.insert(0, str(EXAMPLE / "src"))

_spec = importlib.util.spec_from_file_location(
    "gatewayd_plugin_example_tests", EXAMPLE / "tests" / "test_example.py"
)
assert _spec is not None and _spec.loader is not None
_tests = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_tests)

globals().update({k: v for k, v in vars(_tests).items() if k.startswith("test_")})
