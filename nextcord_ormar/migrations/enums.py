"""PostgreSQL enum types owned by their app: created, altered and dropped with its tables.

On PostgreSQL an ``ormar.Enum`` column's type is a named database type. Alembic alone
neither compares its labels (a value added to the Python enum goes unnoticed) nor creates
it for ``add_column`` nor drops it with the table, and ``create_table`` creates it anew for
each table that uses it. This module's comparator (an Alembic plugin, enabled in
:meth:`.AppEnvironment.options`) takes that over for the app being compared:

* a type the app's models use and the database lacks is created first
  (:class:`CreateEnumTypeOp`), and every column of it is rendered with
  ``create_type=False`` so that no table creates it a second time;
* a type whose labels differ is altered (:class:`AlterEnumTypeOp`): added values with
  ``ALTER TYPE ... ADD VALUE``, anything else by rebuilding the type and casting the
  columns through text;
* a type the app's tables used and no model of any app uses any more is dropped last
  (:class:`DropEnumTypeOp`).

Each operation reverses into its counterpart, so a migration's ``downgrade()`` drops the
types its ``upgrade()`` created. The scripts get plain ``op.execute`` SQL, so they also
render offline (``--sql``). On MariaDB (``ENUM`` columns) and SQLite (``VARCHAR``) Alembic's
own column comparison already sees changed values; nothing here runs there.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy
from alembic.autogenerate import renderers
from alembic.autogenerate.api import AutogenContext
from alembic.operations import ops
from alembic.runtime.plugins import Plugin
from alembic.util import DispatchPriority, PriorityDispatchResult
from sqlalchemy.dialects import postgresql

from ..apps import fit_identifier
from .results import Operation

__all__ = [
    "PLUGIN",
    "AlterEnumTypeOp",
    "CreateEnumTypeOp",
    "DropEnumTypeOp",
    "EnumTypeOp",
    "RetypeEnumColumnOp",
    "describe_enum",
    "enum_warnings",
]

#: The Alembic plugin name :meth:`.AppEnvironment.options` enables.
PLUGIN = "nextcord_ormar.enums"


@dataclass
class EnumTypeOp(ops.MigrateOperation):
    """An operation on one named enum type (PostgreSQL)."""

    name: str
    values: tuple[str, ...]

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return (type(self).__name__, self.name, self.values)


@dataclass
class CreateEnumTypeOp(EnumTypeOp):
    """``CREATE TYPE name AS ENUM (...)``."""

    def reverse(self) -> DropEnumTypeOp:
        return DropEnumTypeOp(self.name, self.values)


@dataclass
class DropEnumTypeOp(EnumTypeOp):
    """``DROP TYPE name``."""

    def reverse(self) -> CreateEnumTypeOp:
        return CreateEnumTypeOp(self.name, self.values)


@dataclass
class AlterEnumTypeOp(EnumTypeOp):
    """Change the labels of type ``name`` from ``old_values`` to ``values``.

    ``columns`` are the ``(table, column, server default)`` of the type in the database,
    cast to the rebuilt type when values are removed or reordered.
    """

    old_values: tuple[str, ...] = ()
    columns: tuple[tuple[str, str, str | None], ...] = field(default=())

    def reverse(self) -> AlterEnumTypeOp:
        return AlterEnumTypeOp(self.name, self.old_values, self.values, self.columns)

    @property
    def added(self) -> list[str]:
        return [v for v in self.values if v not in self.old_values]

    @property
    def removed(self) -> list[str]:
        return [v for v in self.old_values if v not in self.values]

    @property
    def only_adds(self) -> bool:
        """Whether the old labels keep their order within the new ones (ADD VALUE suffices)."""
        return [v for v in self.values if v in self.old_values] == list(self.old_values)


@dataclass
class RetypeEnumColumnOp(EnumTypeOp):
    """Move ``table.column`` from enum type ``old_name`` to type ``name`` (a renamed type)."""

    table: str = ""
    column: str = ""
    old_name: str = ""
    default: str | None = None  # the server default as reflected (cast to ``old_name``)

    def reverse(self) -> RetypeEnumColumnOp:
        default = _recast(self.default, self.old_name, self.name)
        return RetypeEnumColumnOp(self.old_name, (), self.table, self.column, self.name, default)


def _recast(default: str | None, old: str, new: str) -> str | None:
    """A reflected default (``'OPEN'::old``) cast to type ``new`` instead."""
    if default is None or not default.endswith(f"::{old}"):
        return default
    return default[: -len(old)] + new


def enum_warnings(op: ops.MigrateOperation) -> list[str]:
    """Warnings for an operation that removes enum values (rows holding them break it)."""
    if isinstance(op, AlterEnumTypeOp) and op.removed:
        return [
            f"removes {', '.join(op.removed)} from enum type {op.name}: "
            "the upgrade fails if any row holds it"
        ]
    if isinstance(op, ops.AlterColumnOp):
        old, new = op.existing_type, op.modify_type
        if isinstance(old, sqlalchemy.Enum) and isinstance(new, sqlalchemy.Enum):
            removed = [v for v in old.enums if v not in new.enums]
            if removed:
                return [
                    f"removes {', '.join(removed)} from enum type of "
                    f"{op.table_name}.{op.column_name}: the upgrade fails if any row holds it"
                ]
    return []


# -- comparison -----------------------------------------------------------------------------


def _enum_name(type_: Any) -> str | None:
    """The database type name of a native enum type, else ``None``."""
    if isinstance(type_, sqlalchemy.Enum) and type_.native_enum and type_.name:
        return str(type_.name)
    return None


def _compare_enums(
    autogen_context: AutogenContext, upgrade_ops: ops.UpgradeOps
) -> PriorityDispatchResult:
    """After Alembic's own comparison: create, alter, retype and drop the app's enum types."""
    conn = autogen_context.connection
    metadata = autogen_context.metadata
    if conn is None or not isinstance(metadata, sqlalchemy.MetaData):
        return PriorityDispatchResult.CONTINUE
    inspector: Any = autogen_context.inspector  # PostgreSQL's, with get_enums()
    existing = {
        e["name"]: tuple(e["labels"]) for e in inspector.get_enums() if e.get("visible", True)
    }
    own = [
        t
        for t in metadata.sorted_tables
        if autogen_context.run_object_filters(t, t.name, "table", False, None)
    ]
    own_names = {t.name for t in own}
    wanted: dict[str, tuple[str, ...]] = {}
    for column in (c for t in own for c in t.columns):
        if (name := _enum_name(column.type)) is not None:
            wanted.setdefault(name, tuple(getattr(column.type, "enums", ())))
    used_anywhere = {_enum_name(c.type) for t in metadata.tables.values() for c in t.columns}
    in_db = set(inspector.get_table_names())
    db_columns: dict[str, list[tuple[str, str, str | None]]] = {}
    retypes: list[ops.MigrateOperation] = []
    for table in (t for t in own if t.name in in_db):
        for col in inspector.get_columns(table.name):
            if (name := _enum_name(col["type"])) is None:
                continue
            db_columns.setdefault(name, []).append((table.name, col["name"], col.get("default")))
            model_col = table.columns.get(col["name"])
            new = _enum_name(model_col.type) if model_col is not None else None
            if new is not None and new != name:  # the type was renamed (same labels or not)
                values = wanted[new]
                retypes.append(
                    RetypeEnumColumnOp(
                        new, values, table.name, col["name"], name, col.get("default")
                    )
                )

    first: list[ops.MigrateOperation] = []
    for name, values in wanted.items():
        foreign = sorted(_users(conn, name) - own_names)
        if foreign:
            from .scripts import MigrationError  # scripts imports this module (via environment)

            raise MigrationError(
                f"enum type {name!r} is already used by table {foreign[0]}, which is not this "
                "app's; give the Python enum a name of its own"
            )
        if name not in existing:
            first.append(CreateEnumTypeOp(name, values))
        elif existing[name] != values:
            columns = tuple(db_columns.get(name, ()))
            first.append(AlterEnumTypeOp(name, values, existing[name], columns))
    last: list[ops.MigrateOperation] = [
        DropEnumTypeOp(name, existing[name])
        for name in sorted(set(db_columns) - used_anywhere)
        if name in existing and _users(conn, name) <= own_names
    ]
    _no_implicit_types(upgrade_ops)
    upgrade_ops.ops[:0] = first + retypes
    upgrade_ops.ops.extend(last)
    return PriorityDispatchResult.CONTINUE


def _users(conn: Any, name: str) -> set[str]:
    """The tables (of any app, or none) with a column of enum type ``name``."""
    rows = conn.execute(
        sqlalchemy.text(
            "SELECT DISTINCT c.relname FROM pg_attribute a "
            "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_type t ON t.oid = a.atttypid "
            "WHERE t.typname = :name AND t.typtype = 'e' AND NOT a.attisdropped "
            "AND c.relkind = 'r' AND pg_table_is_visible(c.oid)"
        ),
        {"name": name},
    )
    return {str(row[0]) for row in rows}


def _explicit(type_: Any) -> Any:
    """A column type that leaves creating the enum type to :class:`CreateEnumTypeOp`."""
    if _enum_name(type_) is None:
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
    if _enum_name(column.type) is None:
        return column
    copy = column._copy()
    copy.type = _explicit(column.type)
    return copy


def _leave_enum_columns(
    autogen_context: AutogenContext, alter_column_op: ops.AlterColumnOp, *args: Any
) -> PriorityDispatchResult:
    """No column type change between two enum types: :func:`_compare_enums` handles those."""
    conn_col, metadata_col = args[-2], args[-1]
    if _enum_name(conn_col.type) and _enum_name(metadata_col.type):
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


# -- rendering ------------------------------------------------------------------------------


def _sql(autogen_context: AutogenContext, statement: str) -> str:
    return f"op.execute({statement!r})"


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _quote(autogen_context: AutogenContext, name: str) -> str:
    dialect = autogen_context.dialect
    preparer = dialect.identifier_preparer if dialect is not None else None
    return preparer.quote(name) if preparer is not None else name


def _create_sql(autogen_context: AutogenContext, name: str, values: tuple[str, ...]) -> str:
    labels = ", ".join(_literal(v) for v in values)
    return f"CREATE TYPE {_quote(autogen_context, name)} AS ENUM ({labels})"


@renderers.dispatch_for(CreateEnumTypeOp)
def _render_create(autogen_context: AutogenContext, op: CreateEnumTypeOp) -> str:
    return _sql(autogen_context, _create_sql(autogen_context, op.name, op.values))


@renderers.dispatch_for(DropEnumTypeOp)
def _render_drop(autogen_context: AutogenContext, op: DropEnumTypeOp) -> str:
    return _sql(autogen_context, f"DROP TYPE {_quote(autogen_context, op.name)}")


@renderers.dispatch_for(AlterEnumTypeOp)
def _render_alter(autogen_context: AutogenContext, op: AlterEnumTypeOp) -> list[str]:
    q = _quote(autogen_context, op.name)
    if op.only_adds:
        lines = []
        for index, value in enumerate(op.values):
            if value in op.old_values:
                continue
            after = [v for v in op.values[index + 1 :] if v in op.old_values]
            place = f" BEFORE {_literal(after[0])}" if after else ""
            statement = f"ALTER TYPE {q} ADD VALUE IF NOT EXISTS {_literal(value)}{place}"
            lines.append(_sql(autogen_context, statement))
        return lines
    old = _quote(autogen_context, fit_identifier(f"{op.name}_old"))
    before, casts, after = [], [], []
    for table, column, default in op.columns:
        alter = f"ALTER TABLE {_quote(autogen_context, table)} ALTER COLUMN "
        alter += _quote(autogen_context, column)
        casts.append(_cast(autogen_context, table, column, op.name))
        if default is not None:  # a default of the old type cannot be cast automatically
            before.append(f"{alter} DROP DEFAULT")
            after.append(f"{alter} SET DEFAULT {default}")
    statements = [
        *before,
        f"ALTER TYPE {q} RENAME TO {old}",
        _create_sql(autogen_context, op.name, op.values),
        *casts,
        f"DROP TYPE {old}",
        *after,
    ]
    return [_sql(autogen_context, s) for s in statements]


def _cast(autogen_context: AutogenContext, table: str, column: str, type_name: str) -> str:
    q = _quote(autogen_context, type_name)
    col = _quote(autogen_context, column)
    return (
        f"ALTER TABLE {_quote(autogen_context, table)} ALTER COLUMN {col} TYPE {q} "
        f"USING {col}::text::{q}"
    )


@renderers.dispatch_for(RetypeEnumColumnOp)
def _render_retype(autogen_context: AutogenContext, op: RetypeEnumColumnOp) -> str | list[str]:
    cast = _sql(autogen_context, _cast(autogen_context, op.table, op.column, op.name))
    if op.default is None:
        return cast
    alter = f"ALTER TABLE {_quote(autogen_context, op.table)} ALTER COLUMN "
    alter += _quote(autogen_context, op.column)
    default = _recast(op.default, op.old_name, op.name)
    return [
        _sql(autogen_context, f"{alter} DROP DEFAULT"),
        cast,
        _sql(autogen_context, f"{alter} SET DEFAULT {default}"),
    ]


# -- describing -----------------------------------------------------------------------------


def describe_enum(op: EnumTypeOp) -> Operation:
    """An enum operation as data, for make/check results."""
    if isinstance(op, RetypeEnumColumnOp):
        return Operation("alter_column", op.table, op.column, f"type {op.old_name} -> {op.name}")
    if isinstance(op, AlterEnumTypeOp):
        parts = []
        if op.added:
            parts.append("add " + ", ".join(op.added))
        if op.removed:
            parts.append("remove " + ", ".join(op.removed))
        return Operation("alter_enum", None, op.name, "; ".join(parts) or "reorder")
    kind = "create_enum" if isinstance(op, CreateEnumTypeOp) else "drop_enum"
    return Operation(kind, None, op.name, ", ".join(op.values))
