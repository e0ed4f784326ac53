"""Alembic's autogenerate operations as plain data, a name derived from them, and warnings."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import sqlalchemy
from alembic.autogenerate.api import AutogenContext
from alembic.operations import ops
from alembic.runtime.plugins import Plugin
from alembic.util import DispatchPriority, PriorityDispatchResult

from .enums import EnumTypeOp, describe_enum, enum_warnings
from .naming import slugify
from .results import Operation

__all__ = ["PLUGIN", "describe_operations", "flatten", "name_from_operations", "warnings_for"]

_INTEGER_RANK = {"SmallInteger": 1, "Integer": 2, "BigInteger": 3}


def flatten(upgrade_ops: ops.OpContainer) -> Iterator[ops.MigrateOperation]:
    """Every leaf operation, with per-table groups (``ModifyTableOps``) opened up."""
    for op in upgrade_ops.ops:
        if isinstance(op, ops.OpContainer):
            yield from flatten(op)
        else:
            yield op


def _type_text(type_: Any) -> str:
    if isinstance(type_, sqlalchemy.Enum):
        return f"ENUM({', '.join(type_.enums)})"
    try:
        return str(type_.compile())
    except Exception:
        return type(type_).__name__


def _columns(op: Any) -> str:
    cols = getattr(op, "columns", None) or []
    names = [c if isinstance(c, str) else getattr(c, "name", str(c)) for c in cols]
    return ", ".join(names)


def _name(name: Any) -> str | None:
    return str(name) if name is not None else None


def describe(op: ops.MigrateOperation) -> Operation:
    """One operation as data."""
    if isinstance(op, ops.CreateTableOp):
        cols = [c.name for c in op.columns if isinstance(c, sqlalchemy.Column)]
        return Operation("create_table", op.table_name, detail=", ".join(cols))
    if isinstance(op, ops.DropTableOp):
        return Operation("drop_table", op.table_name)
    if isinstance(op, ops.AddColumnOp):
        col = op.column
        null = "" if col.nullable else " NOT NULL"
        return Operation("add_column", op.table_name, col.name, _type_text(col.type) + null)
    if isinstance(op, ops.DropColumnOp):
        return Operation("drop_column", op.table_name, op.column_name)
    if isinstance(op, ops.AlterColumnOp):
        changes = []
        if op.modify_type is not None:
            changes.append(f"type {_type_text(op.existing_type)} -> {_type_text(op.modify_type)}")
        if op.modify_nullable is not None:
            changes.append("nullable" if op.modify_nullable else "NOT NULL")
        if op.modify_server_default is not False:
            changes.append("server default")
        if op.modify_comment is not False:
            changes.append("comment")
        if op.modify_name is not None:
            changes.append(f"rename to {op.modify_name}")
        return Operation("alter_column", op.table_name, op.column_name, ", ".join(changes))
    if isinstance(op, ops.CreateIndexOp):
        kind = "create_unique_index" if op.unique else "create_index"
        return Operation(kind, op.table_name, _name(op.index_name), _columns(op))
    if isinstance(op, ops.DropIndexOp):
        return Operation("drop_index", op.table_name, _name(op.index_name))
    if isinstance(op, ops.CreateUniqueConstraintOp):
        return Operation(
            "create_unique_constraint", op.table_name, _name(op.constraint_name), _columns(op)
        )
    if isinstance(op, ops.CreateForeignKeyOp):
        detail = f"-> {op.referent_table}"
        return Operation("create_foreign_key", op.source_table, _name(op.constraint_name), detail)
    if isinstance(op, ops.CreateCheckConstraintOp):
        return Operation("create_check_constraint", op.table_name, _name(op.constraint_name))
    if isinstance(op, ops.DropConstraintOp):
        return Operation(
            "drop_constraint", op.table_name, _name(op.constraint_name), op.constraint_type or ""
        )
    if isinstance(op, EnumTypeOp):
        return describe_enum(op)
    if isinstance(op, ops.RenameTableOp):
        return Operation("rename_table", op.table_name, detail=f"to {op.new_table_name}")
    if isinstance(op, ops.CreateTableCommentOp | ops.DropTableCommentOp):
        return Operation("table_comment", op.table_name)
    name = type(op).__name__
    return Operation(
        slugify(name.removesuffix("Op")) or "operation", getattr(op, "table_name", None)
    )


def describe_operations(upgrade_ops: ops.OpContainer | None) -> list[Operation]:
    """All operations of a migration, as data."""
    return [describe(op) for op in flatten(upgrade_ops)] if upgrade_ops is not None else []


def _short_table(table: str | None, prefix: str) -> str:
    if not table:
        return ""
    return table[len(prefix) + 1 :] if table.startswith(prefix + "_") else table


def _name_piece(op: Operation, prefix: str) -> str:
    table = _short_table(op.table, prefix)
    kind = op.kind
    if kind == "create_table":
        return f"create {table}"
    if kind == "drop_table":
        return f"drop {table}"
    if kind == "rename_table":
        return f"rename {table}"
    if kind == "alter_column" and op.detail.endswith(f"rename to {op.detail.rpartition(' ')[2]}"):
        return f"rename {table} {op.name}"
    if kind in ("add_column", "drop_column", "alter_column"):
        verb = kind.split("_")[0]
        return f"{verb} {table} {op.name}"
    if kind in ("create_index", "create_unique_index"):
        return f"index {table} {op.detail.replace(',', '')}"
    if kind == "create_unique_constraint":
        return f"unique {table} {op.detail.replace(',', '')}"
    if kind == "create_foreign_key":
        return f"fk {table} {_short_table(op.detail.removeprefix('-> '), prefix)}"
    if kind == "alter_enum":
        return f"alter enum {_short_table(op.name, prefix)}"
    if kind.startswith("drop_"):
        return f"drop {op.name or table}"
    return f"{kind} {table}"


def name_from_operations(operations: Iterable[Operation], prefix: str) -> str:
    """A readable migration name: ``add wallets balance``, ``create wallets and 2 more``."""
    # an enum type created or dropped goes with the table or column that uses it
    chosen = [op for op in operations if op.kind not in ("create_enum", "drop_enum")]
    pieces = [_name_piece(op, prefix) for op in chosen or operations]
    if not pieces:
        return "empty"
    # the leading creates often repeat per table; keep distinct ones in order
    distinct = list(dict.fromkeys(pieces))
    if len(distinct) == 1:
        return distinct[0]
    if len(distinct) == 2:
        return f"{distinct[0]} and {distinct[1]}"
    return f"{distinct[0]} and {len(distinct) - 1} more"


def _rank(type_: Any) -> tuple[str, int] | None:
    name = type(type_).__name__
    for klass in type(type_).__mro__:
        if klass.__name__ in _INTEGER_RANK:
            return ("int", _INTEGER_RANK[klass.__name__])
    length = getattr(type_, "length", None)
    if isinstance(type_, sqlalchemy.String) and not isinstance(type_, sqlalchemy.Text):
        return ("str", length or 1 << 30)
    if isinstance(type_, sqlalchemy.Text):
        return ("str", 1 << 31)
    del name
    return None


def is_narrowing(old: Any, new: Any) -> bool:
    """Whether changing a column from ``old`` to ``new`` can lose or reject existing values."""
    if old is None or new is None:
        return False
    a, b = _rank(old), _rank(new)
    if a is None or b is None:
        return False
    if a[0] != b[0]:
        return a[0] == "str" and b[0] == "int"
    return b[1] < a[1]


def warnings_for(
    upgrade_ops: ops.OpContainer | None, tables_with_rows: set[str] | None = None
) -> list[str]:
    """Warnings a reviewer must see before applying: drops, narrowing, NOT NULL on full tables."""
    if upgrade_ops is None:
        return []
    found: list[str] = []
    for op in flatten(upgrade_ops):
        found += enum_warnings(op)
        if isinstance(op, ops.DropTableOp):
            found.append(f"drops table {op.table_name} and all its rows")
        elif isinstance(op, ops.DropColumnOp):
            found.append(f"drops column {op.table_name}.{op.column_name}: its data will be lost")
        elif isinstance(op, ops.DropIndexOp):
            found.append(f"drops index {_name(op.index_name)} on {op.table_name}")
        elif isinstance(op, ops.DropConstraintOp):
            found.append(f"drops constraint {_name(op.constraint_name)} on {op.table_name}")
        elif isinstance(op, ops.AddColumnOp):
            col = op.column
            if (
                not col.nullable
                and col.server_default is None
                and not col.primary_key
                and tables_with_rows is not None
                and op.table_name in tables_with_rows
            ):
                found.append(
                    f"adds NOT NULL column {op.table_name}.{col.name} without a server default "
                    "to a table that has rows: the upgrade will fail; give the field a "
                    "server_default or make it nullable"
                )
        elif isinstance(op, ops.AlterColumnOp):
            if op.modify_type is not None and is_narrowing(op.existing_type, op.modify_type):
                found.append(
                    f"narrows {op.table_name}.{op.column_name} from "
                    f"{_type_text(op.existing_type)} to {_type_text(op.modify_type)}: "
                    "existing values may not fit"
                )
            if (
                op.modify_nullable is False
                and tables_with_rows
                and op.table_name in tables_with_rows
            ):
                found.append(
                    f"makes {op.table_name}.{op.column_name} NOT NULL: the upgrade fails if "
                    "any row holds NULL there"
                )
    return found


# -- the downgrade's drops, without a copy of each created table -------------------------------

#: The Alembic autogenerate plugin that hands Alembic created tables it reverses cheaply.
PLUGIN = "nextcord_ormar.cheap_reverse"


class _CreateTable(ops.CreateTableOp):
    """A created table whose reverse (the downgrade's drop) copies nothing.

    Alembic's ``CreateTableOp.reverse`` builds a whole new ``Table`` (every column and
    constraint copied, about 0.5 ms a table) to read back its name, schema and keywords; the
    drop it makes renders from the name and schema alone. This makes the same drop from the
    operation itself; a drop reversed again still gets this table's columns.
    """

    def reverse(self) -> ops.DropTableOp:
        return ops.DropTableOp(
            self.table_name,
            schema=self.schema,
            table_kw={
                "comment": self.comment,
                "info": dict(self.info),
                "prefixes": list(self.prefixes) if self.prefixes else [],
                **self.kw,
            },
            _reverse=self,
        )


def _cheap_reverse(
    autogen_context: AutogenContext, upgrade_ops: ops.UpgradeOps, schemas: Any = None
) -> PriorityDispatchResult:
    """After the comparison, before Alembic reverses it: created tables reverse cheaply."""
    for op in upgrade_ops.ops:
        if type(op) is ops.CreateTableOp:
            op.__class__ = _CreateTable
    return PriorityDispatchResult.CONTINUE


Plugin(PLUGIN).add_autogenerate_comparator(
    _cheap_reverse, "autogenerate", "cheap_reverse", priority=DispatchPriority.LAST
)
