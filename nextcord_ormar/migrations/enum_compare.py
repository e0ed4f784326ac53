"""The comparator behind :mod:`.enums`: finds the app's enum types to create, alter, drop.

Registered as an Alembic autogenerate plugin (:data:`PLUGIN`) for PostgreSQL. It runs after
Alembic's own comparison and only looks at the types the app's own tables use.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy
from alembic.autogenerate.api import AutogenContext
from alembic.operations import ops
from alembic.runtime.plugins import Plugin
from alembic.util import DispatchPriority, PriorityDispatchResult
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine.reflection import ObjectKind, ObjectScope

from ..errors import MigrationError
from .enums import (
    AlterEnumTypeOp,
    CreateEnumTypeOp,
    DropEnumTypeOp,
    RetypeEnumColumnOp,
)

__all__ = ["ENUM_NAMES", "PLUGIN", "SCOPES_OPTION", "EnumScope", "enum_name"]

#: The Alembic plugin name :meth:`.AppEnvironment.options` enables.
PLUGIN = "nextcord_ormar.enums"

#: The key of ``MetaData.info`` under which a metadata holding only some apps' tables (an
#: operation's snapshot, :meth:`.AppSnapshot.metadata`) keeps the names of the enum types
#: every app's tables use: a type still used by some model is never dropped.
ENUM_NAMES = "nextcord_ormar.enum_names"


def enum_name(type_: Any) -> str | None:
    """The database type name of a native enum type, else ``None``."""
    if isinstance(type_, sqlalchemy.Enum) and type_.native_enum and type_.name:
        return str(type_.name)
    return None


@dataclass
class EnumScope:
    """One app's share of a comparison that covers several apps at once (see
    :func:`.status.model_diffs`): which tables are its own, and the enum operations found for
    it, to go first and last among its operations."""

    include: Callable[..., bool]
    first: list[ops.MigrateOperation] = field(default_factory=list)
    last: list[ops.MigrateOperation] = field(default_factory=list)


#: The ``context.configure`` option holding the :class:`EnumScope` of each app compared.
SCOPES_OPTION = "nextcord_ormar_enum_scopes"


def _compare_enums(
    autogen_context: AutogenContext, upgrade_ops: ops.UpgradeOps
) -> PriorityDispatchResult:
    """After Alembic's own comparison: create, alter, retype and drop the app's enum types.

    With several apps compared at once (:data:`SCOPES_OPTION`), each app's operations go to
    its :class:`EnumScope` instead, found exactly as a comparison of that app alone finds them.
    """
    conn = autogen_context.connection
    metadata = autogen_context.metadata
    if conn is None or not isinstance(metadata, sqlalchemy.MetaData):
        return PriorityDispatchResult.CONTINUE
    scopes: list[EnumScope] | None = autogen_context.opts.get(SCOPES_OPTION)
    alone = scopes is None
    if scopes is None:
        scopes = [EnumScope(autogen_context.run_object_filters)]
    inspector: Any = autogen_context.inspector  # PostgreSQL's, with get_enums()
    existing = {
        e["name"]: tuple(e["labels"]) for e in inspector.get_enums() if e.get("visible", True)
    }
    in_db = set(inspector.get_table_names())  # by name: the compared apps' only (.listing)
    tables = metadata.sorted_tables  # a sort of every app's tables: once, not per app
    owns = [
        [t for t in tables if scope.include(t, t.name, "table", False, None)] for scope in scopes
    ]
    # every app's tables' columns in one statement (not one per table)
    present = sorted({t.name for own in owns for t in own if t.name in in_db})
    columns = _columns(inspector, present)
    used_anywhere = metadata.info.get(ENUM_NAMES)
    if used_anywhere is None:  # the shared metadata itself: every app's tables
        used_anywhere = {enum_name(c.type) for t in metadata.tables.values() for c in t.columns}
    found = [_enum_ops(own, columns, existing, in_db) for own in owns]
    asked = {n for wanted, _, db_columns in found for n in (*wanted, *db_columns)}
    users = _users(conn, sorted(asked)) if asked else {}
    for scope, own, (wanted, retypes, db_columns) in zip(scopes, owns, found, strict=True):
        own_names = {t.name for t in own}
        first: list[ops.MigrateOperation] = []
        for name, values in wanted.items():
            foreign = sorted(users.get(name, set()) - own_names)
            if foreign:
                raise MigrationError(
                    f"enum type {name!r} is already used by table {foreign[0]}, which is not "
                    "this app's; give the Python enum a name of its own"
                )
            if name not in existing:
                first.append(CreateEnumTypeOp(name, values))
            elif existing[name] != values:
                cols = tuple(db_columns.get(name, ()))
                first.append(AlterEnumTypeOp(name, values, existing[name], cols))
        scope.first = first + retypes
        scope.last = [
            DropEnumTypeOp(name, existing[name])
            for name in sorted(set(db_columns) - used_anywhere)
            if name in existing and users.get(name, set()) <= own_names
        ]
    _no_implicit_types(upgrade_ops)
    if alone:
        upgrade_ops.ops[:0] = scopes[0].first
        upgrade_ops.ops.extend(scopes[0].last)
    return PriorityDispatchResult.CONTINUE


#: Where Alembic (1.19, 1.20) keeps, in its inspector's ``info_cache``, the columns it
#: reflected for the comparison: ``{(schema, table name): [column, ...]}``.
_ALEMBIC_COLUMNS = "alembic_columns"


def _columns(inspector: Any, present: list[str]) -> dict[str, list[Any]]:
    """The reflected columns of the tables ``present`` (of the default schema), by name.

    Alembic has just reflected them for its own comparison of the same tables: they are
    taken from its inspector's cache when it holds every one of them (on PostgreSQL, reading
    every column of 320 tables again took a fifth of a 40-cog start-up check); otherwise,
    as with a later Alembic that keeps them elsewhere, they are asked for here."""
    if not present:
        return {}
    cached = inspector.info_cache.get(_ALEMBIC_COLUMNS)
    if isinstance(cached, dict) and all((None, name) in cached for name in present):
        return {name: cached[(None, name)] for name in present}
    reflected = inspector.get_multi_columns(
        filter_names=present, kind=ObjectKind.ANY, scope=ObjectScope.ANY
    )
    return {name: cols for (_, name), cols in reflected.items()}


_Found = tuple[
    dict[str, tuple[str, ...]],
    list[ops.MigrateOperation],
    dict[str, list[tuple[str, str, str | None]]],
]


def _enum_ops(
    own: list[sqlalchemy.Table],
    columns: dict[str, list[Any]],
    existing: dict[str, tuple[str, ...]],
    in_db: set[str],
) -> _Found:
    """For one app's tables: the enum types it wants (name → labels), the columns to retype,
    and where the database's enum types are used in its tables."""
    wanted: dict[str, tuple[str, ...]] = {}
    for column in (c for t in own for c in t.columns):
        if (name := enum_name(column.type)) is not None:
            wanted.setdefault(name, tuple(getattr(column.type, "enums", ())))
    db_columns: dict[str, list[tuple[str, str, str | None]]] = {}
    retypes: list[ops.MigrateOperation] = []
    for table in (t for t in own if t.name in in_db):
        for col in columns.get(table.name, []):
            if (name := enum_name(col["type"])) is None:
                continue
            db_columns.setdefault(name, []).append((table.name, col["name"], col.get("default")))
            model_col = table.columns.get(col["name"])
            new = enum_name(model_col.type) if model_col is not None else None
            if new is not None and new != name:  # the type was renamed (same labels or not)
                values = wanted[new]
                retypes.append(
                    RetypeEnumColumnOp(
                        new, values, table.name, col["name"], name, col.get("default")
                    )
                )
    return wanted, retypes, db_columns


def _users(conn: Any, names: list[str]) -> dict[str, set[str]]:
    """Enum type name → the tables (of any app, or none) with a column of that type."""
    rows = conn.execute(
        sqlalchemy.text(
            "SELECT DISTINCT t.typname, c.relname FROM pg_attribute a "
            "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_type t ON t.oid = a.atttypid "
            "WHERE t.typname IN :names AND t.typtype = 'e' AND NOT a.attisdropped "
            "AND c.relkind = 'r' AND pg_table_is_visible(c.oid)"
        ).bindparams(sqlalchemy.bindparam("names", expanding=True)),
        {"names": names},
    )
    found: dict[str, set[str]] = {}
    for row in rows:
        found.setdefault(str(row[0]), set()).add(str(row[1]))
    return found


def _explicit(type_: Any) -> Any:
    """A column type that leaves creating the enum type to :class:`CreateEnumTypeOp`."""
    if enum_name(type_) is None:
        return type_
    return postgresql.ENUM(*type_.enums, name=type_.name, create_type=False)


def _no_implicit_types(container: ops.OpContainer) -> None:
    """Give the enum columns of new tables and columns ``create_type=False`` (copies)."""
    for op in container.ops:
        if isinstance(op, ops.OpContainer):
            _no_implicit_types(op)
        elif isinstance(op, ops.CreateTableOp):
            op.columns = [
                _explicit_column(c) if isinstance(c, sqlalchemy.Column) else c for c in op.columns
            ]
        elif isinstance(op, ops.AddColumnOp):
            op.column = _explicit_column(op.column)


def _explicit_column(column: sqlalchemy.Column[Any]) -> sqlalchemy.Column[Any]:
    """``column``, or for an enum column a copy of it with :func:`_explicit`'s type."""
    if enum_name(column.type) is None:
        return column
    copy = column._copy()
    copy.type = _explicit(column.type)
    return copy


def _leave_enum_columns(
    autogen_context: AutogenContext, alter_column_op: ops.AlterColumnOp, *args: Any
) -> PriorityDispatchResult:
    """No column type change between two enum types: :func:`_compare_enums` handles those."""
    conn_col, metadata_col = args[-2], args[-1]
    if enum_name(conn_col.type) and enum_name(metadata_col.type):
        return PriorityDispatchResult.STOP
    return PriorityDispatchResult.CONTINUE


def setup(plugin: Plugin) -> None:
    """Register the comparator for PostgreSQL (Alembic calls this once, at import)."""
    plugin.add_autogenerate_comparator(
        _compare_enums,
        "autogenerate",
        "enums",
        qualifier="postgresql",
        priority=DispatchPriority.LAST,
    )
    plugin.add_autogenerate_comparator(
        _leave_enum_columns,
        "column",
        "types",
        qualifier="postgresql",
        priority=DispatchPriority.FIRST,
    )


Plugin.setup_plugin_from_module(sys.modules[__name__], PLUGIN)
