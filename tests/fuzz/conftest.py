"""The fuzz run reuses the SDK suite's server launcher and spec validator."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "sdk"))
