"""Renames: a dropped and an added column (or table) that may be one thing renamed.

Autogenerate sees a renamed field as a dropped column plus an added one, and the data of
the old column would be lost. When one app's changes hold such a pair (same table, types of
the same kind; or a dropped table of the app and a created one with the same columns), the
engine asks the face's questioner "did you rename X to Y?", or takes the answer given ahead
(``--rename TABLE.OLD:NEW``, ``--rename-table OLD:NEW``). A yes turns the pair into
``op.alter_column(..., new_column_name=...)`` / ``op.rename_table(...)``; otherwise the drop
and the add stay, with a warning.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy
from alembic.autogenerate import renderers
from alembic.operations import ops

from ..errors import NotConfirmedError, UsageError
from .questions import Question, Questioner

__all__ = [
    "Rename",
    "RenameColumn",
    "RenameTable",
    "apply_renames",
    "ask_renames",
    "candidates",
    "parse_rename",
    "renames_for",
    "unanswered_warnings",
]


@dataclass(frozen=True)
class RenameColumn(Question):
    """Was column ``old`` of ``table`` renamed to ``new``?"""

    table: str
    old: str
    new: str

    def summary(self) -> str:
        return (
            f"did you rename column {self.table}.{self.old} to {self.new}? (if not, "
            f"{self.old} is dropped with its data and {self.new} is added)"
        )


@dataclass(frozen=True)
class RenameTable(Question):
    """Was table ``old`` renamed to ``new``?"""

    old: str
    new: str

    def summary(self) -> str:
        return (
            f"did you rename table {self.old} to {self.new}? (if not, {self.old} is dropped "
            f"with its rows and {self.new} is created)"
        )


Rename = RenameColumn | RenameTable


def parse_rename(text: str, *, table: bool = False) -> Rename:
    """``TABLE.OLD:NEW`` (a column) or, with ``table``, ``OLD:NEW``."""
    head, colon, new = text.strip().partition(":")
    if table:
        if colon and head and new and "." not in head:
            return RenameTable(head.strip(), new.strip())
        raise UsageError(f"--rename-table wants OLD:NEW (table names), not {text!r}")
    name, dot, old = head.partition(".")
    if colon and dot and name and old and new:
        return RenameColumn(name.strip(), old.strip(), new.strip())
    raise UsageError(f"--rename wants TABLE.OLD:NEW, not {text!r}")


def renames_for(table_names: Iterable[str], renames: Iterable[Rename]) -> list[Rename]:
    """The renames about an app's tables (by the new table name)."""
    names = set(table_names)
    return [r for r in renames if (r.table if isinstance(r, RenameColumn) else r.new) in names]


def candidates(upgrade_ops: ops.UpgradeOps) -> list[Rename]:
    """Every (drop, add) pair in the changes that could be a rename, in the order found."""
    found: list[Rename] = []
    tables = {op.table_name: op for op in upgrade_ops.ops if isinstance(op, ops.CreateTableOp)}
    for op in upgrade_ops.ops:
        if isinstance(op, ops.DropTableOp):
            old = op.to_table()
            for name, created in tables.items():
                if _same_columns(old, created.to_table()):
                    found.append(RenameTable(op.table_name, name))
        elif isinstance(op, ops.ModifyTableOps):
            drops = [o for o in op.ops if isinstance(o, ops.DropColumnOp)]
            adds = [o for o in op.ops if isinstance(o, ops.AddColumnOp)]
            for drop in drops:
                for add in adds:
                    if _compatible(drop.to_column(), add.column):
                        found.append(RenameColumn(op.table_name, drop.column_name, add.column.name))
    return found


async def ask_renames(
    upgrade_ops: ops.UpgradeOps | None, given: Iterable[Rename], questioner: Questioner
) -> list[Rename]:
    """``given``, plus the candidates the questioner says are renames (one at a time).

    A pair that touches a column or table already answered for is not asked; a refusal
    (:class:`NotConfirmedError`, as ``--no-input`` or a timeout gives) keeps drop + add.
    """
    chosen = list(given)
    if upgrade_ops is None:
        return chosen
    taken = {name for rename in chosen for name in _involved(rename)}
    for rename in candidates(upgrade_ops):
        if _involved(rename) & taken:
            continue
        try:
            yes = await questioner.ask(rename)
        except NotConfirmedError:
            yes = False
        if yes:
            chosen.append(rename)
            taken |= _involved(rename)
    return chosen


def _involved(rename: Rename) -> set[tuple[str, ...]]:
    if isinstance(rename, RenameColumn):
        return {(rename.table, rename.old), (rename.table, rename.new)}
    return {(rename.old,), (rename.new,)}


def apply_renames(script: Any, chosen: Iterable[Rename], app: str) -> list[Rename]:
    """Turn each chosen pair into a rename, going up and down.

    A rename given ahead that matches no drop + add pair of the app's changes is an error
    (raised before the file is written).
    """
    applied: list[Rename] = []
    for rename in chosen:
        if isinstance(rename, RenameColumn):
            done = _rename_column(script.upgrade_ops, rename.table, rename.old, rename.new)
            if done:
                _rename_column(script.downgrade_ops, rename.table, rename.new, rename.old)
        else:
            done = _rename_table(script.upgrade_ops, rename.old, rename.new)
            if done:
                _rename_table(script.downgrade_ops, rename.new, rename.old)
        if not done:
            raise UsageError(
                f"app {app!r}: no dropped and added {_what(rename)} to take as a rename; "
                "no migration written"
            )
        applied.append(rename)
    return applied


def _what(rename: Rename) -> str:
    if isinstance(rename, RenameColumn):
        return f"column pair {rename.table}.{rename.old} / {rename.new}"
    return f"table pair {rename.old} / {rename.new}"


def unanswered_warnings(upgrade_ops: ops.UpgradeOps | None) -> list[str]:
    """Warnings for the pairs still made of a drop and an add (not taken as renames)."""
    if upgrade_ops is None:
        return []
    lines = []
    for rename in candidates(upgrade_ops):
        if isinstance(rename, RenameColumn):
            lines.append(
                f"kept drop + add of {rename.table}.{rename.old} / {rename.new}; if it is a "
                f"rename, delete this file and run again with --rename "
                f"{rename.table}.{rename.old}:{rename.new}"
            )
        else:
            lines.append(
                f"kept drop + create of table {rename.old} / {rename.new}; if it is a rename, "
                f"delete this file and run again with --rename-table {rename.old}:{rename.new}"
            )
    return lines


def _compatible(old: sqlalchemy.Column[Any], new: sqlalchemy.Column[Any]) -> bool:
    """Types of the same kind (a VARCHAR and a String; an INTEGER and a BigInteger)."""
    kinds = (old.type._type_affinity, new.type._type_affinity)
    return kinds[0] is kinds[1] or all(
        isinstance(t, sqlalchemy.types.Integer) for t in (old.type, new.type)
    )


def _type_text(type_: Any) -> str:
    """A type as generic SQL (``VARCHAR(30)``), so a reflected and a model type compare."""
    try:
        return str(type_)
    except Exception:
        return repr(type_)


def _same_columns(old: sqlalchemy.Table, new: sqlalchemy.Table) -> bool:
    old_columns = {c.name: c for c in old.columns}
    new_columns = {c.name: c for c in new.columns}
    return old_columns.keys() == new_columns.keys() and all(
        _compatible(old_columns[name], new_columns[name]) for name in old_columns
    )


def _rename_column(container: ops.OpContainer, table: str, old: str, new: str) -> bool:
    """Replace ``drop old`` + ``add new`` in ``table``'s changes by one renaming alter."""
    for modify in _modify_ops(container, table):
        drop = next(
            (o for o in modify.ops if isinstance(o, ops.DropColumnOp) and o.column_name == old),
            None,
        )
        add = next(
            (o for o in modify.ops if isinstance(o, ops.AddColumnOp) and o.column.name == new),
            None,
        )
        if drop is None or add is None:
            continue
        before, after = drop.to_column(), add.column
        same_type = _type_text(before.type) == _type_text(after.type)
        alter = ops.AlterColumnOp(
            table,
            old,
            modify_name=new,
            existing_type=before.type,
            existing_nullable=before.nullable,
            existing_server_default=before.server_default,
            modify_type=None if same_type else after.type,
            modify_nullable=None if before.nullable == after.nullable else after.nullable,
        )
        modify.ops[modify.ops.index(drop)] = alter
        modify.ops.remove(add)
        return True
    return False


def _rename_table(container: ops.OpContainer, old: str, new: str) -> bool:
    """Replace ``drop table old`` + ``create table new`` by one ``rename_table``."""
    drop = next(
        (o for o in container.ops if isinstance(o, ops.DropTableOp) and o.table_name == old),
        None,
    )
    create = next(
        (o for o in container.ops if isinstance(o, ops.CreateTableOp) and o.table_name == new),
        None,
    )
    if drop is None or create is None:
        return False
    container.ops[container.ops.index(create)] = ops.RenameTableOp(old, new)
    container.ops.remove(drop)
    return True


def _modify_ops(container: ops.OpContainer, table: str) -> Iterator[ops.ModifyTableOps]:
    for op in container.ops:
        if isinstance(op, ops.ModifyTableOps) and op.table_name == table:
            yield op


@renderers.dispatch_for(ops.RenameTableOp)
def _render_rename_table(autogen_context: Any, op: ops.RenameTableOp) -> str:
    """Alembic has no autogenerate renderer for a table rename; this is ours."""
    return f"op.rename_table({op.table_name!r}, {op.new_table_name!r})"
