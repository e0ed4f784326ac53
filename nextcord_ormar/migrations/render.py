"""How migration scripts spell column types, and the check that a script can run.

Alembic writes a type that does not come from SQLAlchemy as ``<its module>.<its repr>``
and imports nothing for it: ormar's ``UUID`` became ``ormar.fields.sqlalchemy_uuid.CHAR(32)``,
a ``NameError`` at upgrade. Here such types are written by what they store in the
database (a ``TypeDecorator`` by the SQLAlchemy type it uses on the script's dialect),
and any other foreign type with its module imported. :func:`verify_script` then refuses a
generated script that uses a name it does not define or import.
"""

from __future__ import annotations

import ast
import builtins
import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic.autogenerate import render as alembic_render
from sqlalchemy import types as sqltypes
from sqlalchemy.types import TypeDecorator, TypeEngine

from ..errors import ScriptCheckError

__all__ = ["RENDERERS", "ScriptCheckError", "render_item", "render_type", "verify_script"]

#: Renderers tried in order by :func:`render_item`; each returns the source text for an
#: object, or ``False`` to pass. Other parts of the engine may append their own.
RENDERERS: list[Callable[[str, Any, Any], str | bool]] = []


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Alembic's ``render_item`` hook: the first renderer of :data:`RENDERERS` that answers."""
    for renderer in RENDERERS:
        rendered = renderer(type_, obj, autogen_context)
        if rendered is not False:
            return rendered
    return False


def render_type(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Types from outside SQLAlchemy, written so that the script runs without them."""
    if type_ != "type" or not isinstance(obj, TypeEngine) or _from_sqlalchemy(obj):
        return False
    if isinstance(obj, TypeDecorator):
        stored = _stored_type(obj, autogen_context.dialect)
        if stored is not None:
            return str(alembic_render._repr_type(stored, autogen_context))
    module = type(obj).__module__
    # "import a.b as a_b": found even when the module was loaded without being set as an
    # attribute of its package (nextcord's load_extension does that to cogs).
    alias = "_" + module.replace(".", "_")
    autogen_context.imports.add(f"import {module} as {alias}")
    return f"{alias}.{obj!r}"


RENDERERS.append(render_type)


def _from_sqlalchemy(obj: TypeEngine[Any]) -> bool:
    return type(obj).__module__.split(".")[0] == "sqlalchemy"


def _stored_type(obj: TypeDecorator[Any], dialect: Any) -> TypeEngine[Any] | None:
    """The SQLAlchemy type a ``TypeDecorator`` keeps its values in on ``dialect``."""
    stored: Any = obj
    for _ in range(10):  # decorators of decorators, but never forever
        if not isinstance(stored, TypeDecorator):
            break
        stored = stored.load_dialect_impl(dialect) if dialect is not None else stored.impl
    if isinstance(stored, TypeDecorator) or not isinstance(stored, TypeEngine):
        return None
    return public_type(stored)


def public_type(stored: TypeEngine[Any]) -> TypeEngine[Any] | None:
    """``stored`` as an instance of the nearest class a script can name: a type of
    ``sqlalchemy`` or of a ``sqlalchemy.dialects`` package (drivers adapt types to private
    classes such as asyncpg's ``AsyncpgCHAR``)."""
    for cls in type(stored).__mro__:
        module = cls.__module__
        if module.startswith("sqlalchemy.dialects."):
            package = importlib.import_module(".".join(module.split(".")[:3]))
            if getattr(package, cls.__name__, None) is cls:
                return stored if cls is type(stored) else stored.adapt(cls)
        elif module.startswith("sqlalchemy.") and getattr(sqltypes, cls.__name__, None) is cls:
            return stored if cls is type(stored) else stored.adapt(cls)
    return None


def verify_script(path: Path) -> None:
    """Raise :class:`ScriptCheckError` if the script at ``path`` cannot compile or uses a
    name that it neither defines nor imports (checked without running it)."""
    source = path.read_text(encoding="utf-8")
    try:
        tree = ast.parse(source, filename=path.name)
        compile(tree, path.name, "exec")
    except SyntaxError as exc:
        raise ScriptCheckError(f"it does not compile: {exc.msg} (line {exc.lineno})") from None
    defined = set(dir(builtins))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            _check_importable(node)
            for alias in node.names:
                defined.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            defined.add(node.name)
        elif isinstance(node, ast.arg):
            defined.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            defined.add(node.id)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in defined:
            segment = _line(source, node.lineno)
            raise ScriptCheckError(
                f"it uses {node.id!r} without importing it (line {node.lineno}: {segment})"
            )


def _check_importable(node: ast.Import | ast.ImportFrom) -> None:
    """Top-level modules a script imports must be installed."""
    if isinstance(node, ast.ImportFrom):
        names = [node.module] if node.module and not node.level else []
    else:
        names = [alias.name for alias in node.names]
    for name in names:
        top = name.split(".")[0]
        if importlib.util.find_spec(top) is None:
            raise ScriptCheckError(f"it imports {top!r}, which is not installed")


def _line(source: str, number: int) -> str:
    text = source.splitlines()[number - 1].strip()
    return text if len(text) <= 120 else text[:117] + "..."
