"""An app's scripts must form one line: no id used twice, no two heads.

Sequential ids (``0001``, ``0002``...) collide when two git branches each make a migration:
after the merge Alembic would keep one of two ``0002`` scripts and silently never apply the
other, or find two heads. Every command that reads the scripts checks first and refuses with
one line naming both files and the way out (docs/migrations.rst, "Two branches, one id").
"""

from __future__ import annotations

import ast
import contextlib
import re
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from alembic.script import ScriptDirectory

from ..errors import MigrationError

__all__ = ["check_heads", "check_ids"]

_ID_RE = re.compile(r"^(\d+)_")
_WAY_OUT = (
    "renumber the one not yet applied (the next free id in its file name and `revision`, "
    "and `down_revision` = the other's id; see docs/migrations.rst)"
)


def _script_files(folder: Path) -> list[Path]:
    """The files Alembic reads as scripts (``*.py``, not ``__init__.py`` nor editor locks)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.py") if not p.name.startswith(("__init__", ".#")))


#: Where a script's header ends: its first top-level ``def``, ``class`` or decorator.
_BODY_START = re.compile(rb"^(?:def|async[ \t]+def|class)[ \t]|^@", re.MULTILINE)


def _revision_of(path: Path) -> str | None:
    """The module-level ``revision = "..."`` of a script, read without importing it.

    Only the header (the text before the first top-level function) is parsed when it holds
    the assignment, as Alembic's scripts do: parsing is one call that holds the GIL, ~20 ms
    for a 300-table script, and every command reads every script. A header that does not
    parse on its own (cut inside a string) or lacks the assignment falls back to the file.
    """
    try:
        source = path.read_bytes()
    except OSError:
        return None  # Alembic reports an unreadable script itself
    body = _BODY_START.search(source)
    if body is not None:
        with contextlib.suppress(SyntaxError, ValueError):
            found = _assigned_revision(ast.parse(source[: body.start()], filename=path.name))
            if found is not None:
                return found
    try:
        return _assigned_revision(ast.parse(source, filename=path.name))
    except (SyntaxError, ValueError):
        return None


def _assigned_revision(tree: ast.Module) -> str | None:
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = {t.id for t in targets if isinstance(t, ast.Name)}
            value = node.value
            if "revision" in names and isinstance(value, ast.Constant):
                return str(value.value)
    return None


def _twice(app: str, what: str, paths: Iterable[Path]) -> MigrationError:
    names = " and ".join(p.name for p in paths)
    return MigrationError(
        f"app {app!r}: {names} both have {what} (made on two branches?); {_WAY_OUT}"
    )


def check_ids(app: str, folder: Path) -> None:
    """Refuse two scripts with the same id prefix in their file names or the same ``revision``."""
    by_prefix: dict[str, list[Path]] = defaultdict(list)
    by_revision: dict[str, list[Path]] = defaultdict(list)
    for path in _script_files(folder):
        match = _ID_RE.match(path.name)
        if match:
            by_prefix[match.group(1)].append(path)
        revision = _revision_of(path)
        if revision is not None:
            by_revision[revision].append(path)
    for revision, paths in by_revision.items():
        if len(paths) > 1:
            raise _twice(app, f"revision {revision!r}", paths)
    for prefix, paths in by_prefix.items():
        if len(paths) > 1:
            raise _twice(app, f"the id {prefix} in their file names", paths)


def check_heads(app: str, directory: ScriptDirectory) -> None:
    """Refuse scripts that fork: two of them follow the same ``down_revision``."""
    heads = directory.get_heads()
    if len(heads) < 2:
        return
    paths = [Path(script.path) for script in directory.get_revisions(heads) if script]
    names = " and ".join(sorted(p.name for p in paths))
    raise MigrationError(
        f"app {app!r}: {names} are two heads (their `down_revision` chains fork, made on two "
        f"branches?); {_WAY_OUT}"
    )
