"""Sphinx configuration for lain's documentation."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent / "_ext"))

from lain_cli import __version__  # noqa: E402

project = "lain"
author = "lain developers"
copyright = "2026, lain developers"
version = release = __version__

extensions: list[str] = []
for optional in ("lain_values_ref", "lain_commands_ref", "lain_clusters_ref"):
    if (Path(__file__).resolve().parent / "_ext" / f"{optional}.py").exists():
        extensions.append(optional)

master_doc = "index"
exclude_patterns = ["_build"]
html_theme = "alabaster"
# option names like --install must stay as typed, not become en dashes
smartquotes = False
html_static_path: list[str] = []
