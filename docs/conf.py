"""Sphinx configuration for nextcord-ormar's documentation.

Built with warnings as errors (``python3 dev.py docs``, and in ``python3 dev.py test``).
Nothing here needs the network: no intersphinx, no remote images or themes.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the package (when not installed) and example_bot

import nextcord_ormar  # noqa: E402

# accessible-pygments (a furo dependency) calls logging.basicConfig() when imported, after
# which Alembic's INFO messages (printed while autodoc imports the engine) reach the terminal.
logging.getLogger("alembic").setLevel(logging.WARNING)

project = "nextcord-ormar"
author = "nextcord-ormar developers"
copyright = "nextcord-ormar developers"
release = nextcord_ormar.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinxarg.ext",
]

exclude_patterns = ["_build"]
root_doc = "index"

# API reference: signatures with their type hints, members in source order.
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"members": True, "show-inheritance": True}

try:
    import furo  # noqa: F401

    html_theme = "furo"
except ImportError:  # the docs extra installs furo; alabaster ships with Sphinx
    html_theme = "alabaster"
html_title = f"nextcord-ormar {release}"
