"""PostgreSQL enum types owned by their app: created, altered and dropped with its tables.

On PostgreSQL an ``ormar.Enum`` column's type is a named database type. Alembic alone
neither compares its labels (a value added to the Python enum goes unnoticed) nor creates
it for ``add_column`` nor drops it with the table, and ``create_table`` creates it anew for
each table that uses it. The comparator in :mod:`.enum_compare` (an Alembic plugin,
enabled in :meth:`.AppEnvironment.options`) takes that over for the app being compared,
with this module's operations:

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

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy
from alembic.autogenerate import renderers
from alembic.autogenerate.api import AutogenContext
from alembic.operations import ops

from ..apps import fit_identifier
from .results import Operation

__all__ = [
    "AlterEnumTypeOp",
    "CreateEnumTypeOp",
    "DropEnumTypeOp",
    "EnumTypeOp",
    "RetypeEnumColumnOp",
    "describe_enum",
    "enum_warnings",
]


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
