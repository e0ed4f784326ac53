"""How migration scripts spell column types, and the check that a script can run.

Alembic writes a type that does not come from SQLAlchemy as ``<its module>.<its repr>``
and imports nothing for it: ormar's ``UUID`` became ``ormar.fields.sqlalchemy_uuid.CHAR(32)``,
a ``NameError`` at upgrade. Here such types are written by what they store in the
database (a ``TypeDecorator`` by the SQLAlchemy type it uses on the script's dialect),
and any other foreign type with its module imported. :mod:`.script_check` then refuses a
generated script that uses a name it does not define or import.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from alembic.autogenerate import render as alembic_render
from sqlalchemy import types as sqltypes
from sqlalchemy.types import TypeDecorator, TypeEngine

__all__ = ["RENDERERS", "render_item", "render_type"]

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
