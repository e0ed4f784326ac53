"""Which tables an app owns in the database: the ones its own scripts created.

Autogenerate never drops a table that has no model, because the table could belong to
anything (another app, an unloaded cog, the user). A table that the app's *own* history
created, and that no loaded app has a model for any more, is different: its model was
removed from the cog, and the app's next migration drops it (flagged as destructive).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from alembic.operations import ops

from .scripts import AppScripts

__all__ = ["created_tables", "order_drops", "removed_tables"]

_NAME = r"""\(\s*(?:table_name\s*=\s*)?['"](?P<{}>[^'"]+)['"]"""
_STEPS = re.compile(
    rf"op\.create_table{_NAME.format('created')}"
    rf"|op\.drop_table{_NAME.format('dropped')}"
    rf"""|op\.rename_table{_NAME.format("old")}\s*,\s*(?:new_table_name\s*=\s*)?['"](?P<new>[^'"]+)['"]"""
)


def created_tables(scripts: AppScripts) -> set[str]:
    """Tables the app's scripts create (and do not drop again), following the history."""
    tables: set[str] = set()
    for script in scripts.revisions():
        for step in _STEPS.finditer(_upgrade_text(Path(script.path))):
            if step["created"]:
                tables.add(step["created"])
            elif step["dropped"]:
                tables.discard(step["dropped"])
            elif step["old"] in tables:
                tables.discard(step["old"])
                tables.add(step["new"])
    return tables


def removed_tables(scripts: AppScripts) -> frozenset[str]:
    """Tables the app created whose models are gone, and that no other loaded app models
    (as the app and the registry stood when ``scripts``' snapshot was taken)."""
    seen = scripts.snapshot
    return frozenset(created_tables(scripts) - seen.table_names - seen.owned)


def _upgrade_text(path: Path) -> str:
    """The source of a script's ``upgrade()`` (what runs going forward)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return ""
    return text.partition("def downgrade(")[0]


def order_drops(script: Any) -> None:
    """Drop tables that refer to others first (and create them last going down).

    Alembic emits the drops of removed tables in name order; a many-to-many table
    referring to a dropped table must go before it, or the database refuses.
    """
    upgrade_ops: ops.UpgradeOps = script.upgrade_ops
    places = [i for i, op in enumerate(upgrade_ops.ops) if isinstance(op, ops.DropTableOp)]
    if len(places) < 2:
        return
    drops = {
        op.table_name: op
        for op in (upgrade_ops.ops[i] for i in places)
        if isinstance(op, ops.DropTableOp)
    }
    refers = {name: _referred(op) & drops.keys() - {name} for name, op in drops.items()}
    ordered: list[Any] = []
    while refers:
        # a table nobody left refers to can go now
        ready = sorted(n for n in refers if not any(n in r for r in refers.values()))
        for name in ready or [min(refers)]:
            ordered.append(drops[name])
            refers.pop(name)
    for place, op in zip(places, ordered, strict=True):
        upgrade_ops.ops[place] = op
    upgrade_ops.reverse_into(script.downgrade_ops)


def _referred(op: ops.DropTableOp) -> set[str]:
    """The tables a dropped table's foreign keys point at."""
    table = op.to_table()
    return {fk.target_fullname.rpartition(".")[0].rpartition(".")[2] for fk in table.foreign_keys}
