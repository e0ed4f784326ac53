"""Where an app's migration scripts live when ``create_app`` is not told.

The rule depends on how the cog is laid out on disk: a package that is a nextcord extension
keeps its migrations inside the package; a single-file cog gets a folder named after its app.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

__all__ = ["default_migrations_path", "module_file"]


def _defines_setup(init_file: Path) -> bool:
    """Whether a package's ``__init__.py`` defines ``setup`` (the package is an extension).

    The file is parsed, not imported: importing a cog package to find its folder would run it.
    """
    try:
        tree = ast.parse(init_file.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return False
    return any(
        isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == "setup"
        for node in tree.body
    )


def default_migrations_path(app_name: str, module_file: str | None) -> Path:
    """Where an app's migrations live when ``create_app`` is not given ``migrations=``.

    * App created in a package's ``__init__.py``, or in a module of a package that is a
      nextcord extension (its ``__init__.py`` defines ``setup``): ``<package>/migrations``.
    * App created in a single-file module (``cogs/economy.py``, or a module beside the
      bot's main script): ``<its folder>/<app>/migrations``.

    Cogs side by side in one folder never share a versions folder, and an app's folder
    does not depend on which other cogs exist.
    """
    if module_file is None:
        return Path.cwd() / app_name / "migrations"
    file = Path(module_file).resolve()
    folder = file.parent
    if file.name == "__init__.py" or _defines_setup(folder / "__init__.py"):
        return folder / "migrations"
    return folder / app_name / "migrations"


def module_file(module: str) -> str | None:
    """The source file of an imported module, if it has one."""
    mod = sys.modules.get(module)
    file = getattr(mod, "__file__", None)
    return file if isinstance(file, str) else None
