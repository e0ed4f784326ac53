"""``adopt``: carry a bot's nextcord-ormar 0.3 history and tables over to this library.

:func:`plan_adoption` works out, reading only, what adopting one app takes: the revision in
``alembic.<app>``, its scripts (moved into the app's folder when 0.3 kept them in a shared
one), and the tables to rename. :func:`carry_out` does it: scripts moved, a reviewable
migration written that renames ``"<app>.<model>s"`` to ``<app>_<model>s`` and back (unless
the 0.3 names are kept), and the revision recorded in the app's own version table. Nothing
is renamed or dropped here; ``upgrade`` runs the written migration like any other.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import sqlalchemy
from alembic import command
from sqlalchemy.engine import Connection

from ..apps import OrmarApp, fit_identifier
from ..errors import MigrationError, PlanChangedError
from . import ledger
from .legacy import app_chain, detect, read_scripts
from .naming import next_revision_id
from .results import Backup
from .scripts import AppScripts, ScriptsOf

__all__ = [
    "ADOPT_MARKER",
    "AdoptPlan",
    "TableMove",
    "backup_of",
    "carry_out_all",
    "plan_all",
    "replan",
    "version_sql",
]

#: A line in the migration ``adopt`` writes; a second run finds it instead of writing another.
ADOPT_MARKER = "# written by nextcord-ormar's adopt command"
ADOPT_MESSAGE = "adopt nextcord-ormar 0.3 table names"


# -- the plan -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableMove:
    """One 0.3 table: its name, this library's name for it, its model, indexes to rename."""

    legacy: str
    target: str
    model: str | None
    indexes: tuple[tuple[str, str, tuple[str, ...], bool], ...] = ()


@dataclass
class AdoptPlan:
    """What adopting one app takes (``state``: ``legacy``, ``adopted`` or ``nothing``)."""

    app: str
    state: Literal["legacy", "adopted", "nothing"]
    keep_names: bool = False
    #: The app's own version table, where the 0.3 revision is recorded.
    version_table_ours: str = ""
    version_table: str | None = None
    revision: str | None = None
    current: str | None = None
    tables: list[TableMove] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)
    scripts: list[Path] = field(default_factory=list)
    chain: list[str] = field(default_factory=list)
    moves: list[tuple[Path, Path]] = field(default_factory=list)
    migration: Path | None = None
    migration_revision: str | None = None
    migration_text: str | None = None
    migration_exists: bool = False
    paste: list[str] = field(default_factory=list)
    done: bool = False
    #: The backup taken before the adoption (by the engine's backup policy), once done.
    backup: Backup | None = None

    def key(self) -> tuple[object, ...]:
        """What must not change between showing the plan and carrying it out."""
        return (self.state, self.revision, tuple(self.tables), tuple(self.moves), self.migration)


def _legacy_revision(conn: Connection, table: str) -> str | None:
    rows: Sequence[sqlalchemy.Row[tuple[object]]] = conn.execute(
        sqlalchemy.select(sqlalchemy.column("version_num")).select_from(sqlalchemy.table(table))
    ).all()
    if len(rows) > 1:
        raise MigrationError(f'"{table}" holds several revisions; resolve the branches first')
    return str(rows[0][0]) if rows else None


def _model_for(app: OrmarApp, names: set[str]) -> str | None:
    for model in app.models:
        if model.ormar_config.tablename in names:
            return model.__name__
    return None


def plan_adoption(
    conn: Connection, app: OrmarApp, keep_names: bool, scripts_of: ScriptsOf
) -> AdoptPlan:
    """Work out, reading only, what adopting ``app`` takes; raise if it cannot be done."""
    inspector = sqlalchemy.inspect(conn)
    names = set(inspector.get_table_names())
    if app.version_table in names:
        current = scripts_of(app).current(conn)
        return AdoptPlan(app.name, "adopted", keep_names, app.version_table, current=current)
    state = detect(conn, [app]).get(app.name)
    if state is None:
        return AdoptPlan(app.name, "nothing", keep_names, app.version_table)
    revision = _legacy_revision(conn, state.version_table) if state.version_table else None
    plan = AdoptPlan(
        app.name, "legacy", keep_names, app.version_table, state.version_table, revision, revision
    )
    _plan_scripts(plan, app, revision)
    for legacy in state.tables:
        target = app.table_name(legacy[len(app.name) + 1 :])
        model = _model_for(app, {target, legacy})
        if model is None:
            plan.unmatched.append(legacy)
            continue
        indexes = tuple(
            (
                str(ix["name"]),
                fit_identifier(str(ix["name"]).replace(legacy, target)),
                tuple(str(c) for c in ix["column_names"] if c),
                bool(ix["unique"]),
            )
            for ix in inspector.get_indexes(legacy)
            if ix["name"] and legacy in ix["name"]
        )
        plan.tables.append(TableMove(legacy, target, model, indexes))
        if not keep_names and target in names:
            raise MigrationError(
                f'{app.name}: both "{legacy}" and {target} exist; move the rows you need into '
                f'"{legacy}", drop {target} yourself, then adopt again'
            )
    if keep_names:
        plan.paste = [
            f"{app.name}: in model {m.model}, write "
            f'ormar_config = app.config(tablename="{m.legacy}")'
            for m in plan.tables
            if _model_for(app, {m.legacy}) is None
        ]
    else:
        _plan_migration(plan, app)
    return plan


def _plan_scripts(plan: AdoptPlan, app: OrmarApp, revision: str | None) -> None:
    """Find the app's 0.3 scripts: in its folder, or where 0.3 put a single-file cog's."""
    folders = [app.migrations_path]
    if app.module_file:
        shared = Path(app.module_file).resolve().parent / "migrations"
        if shared != folders[0]:
            folders.append(shared)
    for folder in folders:
        scripts = read_scripts(folder)
        chain = app_chain(scripts, app.name, revision)
        if not chain or (revision is not None and revision not in {s.revision for s in chain}):
            continue
        plan.scripts = [s.path for s in chain]
        plan.chain = [s.revision for s in chain]
        if folder == app.migrations_path:
            foreign = [s.path.name for s in scripts if s not in chain]
            if foreign:
                raise MigrationError(
                    f"{app.name}: {folder} also holds scripts of another history "
                    f"({', '.join(foreign)}); move them to their own app's folder first"
                )
        else:
            for script in chain:
                target = app.migrations_path / script.path.name
                if target.exists() and target.read_bytes() != script.path.read_bytes():
                    raise MigrationError(
                        f"{app.name}: {target} exists and differs from {script.path}"
                    )
                plan.moves.append((script.path, target))
        return
    if revision is not None:
        where = " or ".join(str(f) for f in folders)
        raise MigrationError(
            f'{app.name}: the database is at {revision} ("{plan.version_table}"), but no '
            f"script with that revision is in {where}; put the 0.3 migrations folder back, "
            "then adopt again"
        )


def _plan_migration(plan: AdoptPlan, app: OrmarApp) -> None:
    """The migration that renames the 0.3 tables (an earlier adopt's, if it wrote one)."""
    moves = [m for m in plan.tables if m.legacy != m.target]
    if not moves:
        return
    for script in read_scripts(app.migrations_path):
        if ADOPT_MARKER in script.text:
            plan.migration, plan.migration_revision = script.path, script.revision
            plan.migration_text, plan.migration_exists = script.text, True
            return
    known = {s.revision for s in read_scripts(app.migrations_path)} | set(plan.chain)
    rev_id = next_revision_id(app.migrations_path, known)
    plan.migration_revision = rev_id
    plan.migration = app.migrations_path / f"{rev_id}_adopt_0_3_table_names.py"
    head = plan.chain[-1] if plan.chain else None
    plan.migration_text = render_migration(rev_id, head, moves)


_RENAME_INDEX = '''

def rename_index(old: str, new: str, table: str, columns: list[str], unique: bool) -> None:
    """Rename an index in place where the database can; SQLite drops and re-creates it."""
    context = op.get_context()
    quote = context.dialect.identifier_preparer.quote
    if context.dialect.name == "postgresql":
        op.execute(f"ALTER INDEX {quote(old)} RENAME TO {quote(new)}")
    elif context.dialect.name in ("mysql", "mariadb"):
        op.execute(f"ALTER TABLE {quote(table)} RENAME INDEX {quote(old)} TO {quote(new)}")
    else:
        op.drop_index(old, table_name=table)
        op.create_index(new, table, columns, unique=unique)
'''


def render_migration(rev_id: str, down: str | None, moves: list[TableMove]) -> str:
    """The text of the migration that renames 0.3 tables (and their indexes) to ours."""
    up: list[str] = []
    back: list[str] = []
    for move in moves:
        up.append(f"    op.rename_table({move.legacy!r}, {move.target!r})")
        for old, new, columns, unique in move.indexes:
            args = f"{move.target!r}, {list(columns)!r}, {unique}"
            up.append(f"    rename_index({old!r}, {new!r}, {args})")
            back.append(f"    rename_index({new!r}, {old!r}, {args})")
        back.append(f"    op.rename_table({move.target!r}, {move.legacy!r})")
    renamed = ", ".join(f'"{m.legacy}" -> {m.target}' for m in moves)
    helper = _RENAME_INDEX if any(m.indexes for m in moves) else ""
    return (
        f'"""{ADOPT_MESSAGE}\n\n'
        f"Revision ID: {rev_id}\nRevises: {down or ''}\n\n"
        f"Renames the tables nextcord-ormar 0.3 made to this library's names: {renamed}.\n"
        '"""\n\n'
        f"{ADOPT_MARKER}\n"
        "from alembic import op\n\n"
        f"revision = {rev_id!r}\n"
        f"down_revision = {down!r}\n"
        "branch_labels = None\n"
        "depends_on = None\n"
        f"{helper}\n\n"
        "def upgrade() -> None:\n" + "\n".join(up) + "\n\n\n"
        "def downgrade() -> None:\n" + "\n".join(back) + "\n"
    )


# -- carrying it out ------------------------------------------------------------------------------


def version_sql(scripts: AppScripts, plan: AdoptPlan) -> str:
    """The SQL that records the legacy revision in the app's own version table."""
    buffer = io.StringIO()
    cfg = scripts.config(output=buffer)
    if plan.moves:  # not moved yet: read them where they are
        cfg.set_main_option("version_locations", str(plan.moves[0][0].parent).replace("%", "%%"))
    command.stamp(cfg, plan.revision or "base", sql=True)
    return buffer.getvalue()


def carry_out(conn: Connection, app: OrmarApp, plan: AdoptPlan, scripts_of: ScriptsOf) -> AdoptPlan:
    """Adopt ``app`` as ``plan`` says: move scripts, write the migration, record the revision."""
    for source, target in plan.moves:
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            source.unlink()
        else:
            shutil.move(source, target)
    if plan.migration is not None and not plan.migration_exists:
        assert plan.migration_text is not None
        plan.migration.parent.mkdir(parents=True, exist_ok=True)
        with plan.migration.open("x", encoding="utf-8") as handle:
            handle.write(plan.migration_text)
    scripts = scripts_of(app)  # after the moves: it reads the folder as it is now
    if conn.in_transaction():
        conn.commit()
    command.stamp(scripts.config(connection=conn), plan.revision or "base")
    if not sqlalchemy.inspect(conn).has_table(app.version_table):
        version = sqlalchemy.Table(
            app.version_table,
            sqlalchemy.MetaData(),
            sqlalchemy.Column("version_num", sqlalchemy.String(32), nullable=False),
            sqlalchemy.PrimaryKeyConstraint("version_num", name=f"{app.version_table}_pkc"),
        )
        version.create(conn)
    ledger.ensure(conn)
    applied = scripts.known()
    upto = applied[: applied.index(plan.revision) + 1] if plan.revision in applied else []
    for script in scripts.revisions():
        if script.revision in upto:
            ledger.record(conn, app.name, script.revision, Path(script.path))
    conn.commit()
    plan.done = True
    return plan


def backup_of(plans: Sequence[AdoptPlan]) -> Backup | None:
    """The backup taken before an adoption (the adopted plans share it), if any."""
    return next((plan.backup for plan in plans if plan.backup is not None), None)


def plan_all(
    conn: Connection, apps: list[OrmarApp], keep_names: bool, scripts_of: ScriptsOf
) -> list[AdoptPlan]:
    """The adoption plan of each app (nothing changes)."""
    return [plan_adoption(conn, app, keep_names, scripts_of) for app in apps]


def replan(
    conn: Connection,
    apps: list[OrmarApp],
    keep_names: bool,
    expected: Sequence[AdoptPlan] | None,
    scripts_of: ScriptsOf,
) -> list[AdoptPlan]:
    """Plan again; refuse unless the plan is still the one shown (``expected``)."""
    plans = plan_all(conn, apps, keep_names, scripts_of)
    if expected is not None and [p.key() for p in plans] != [p.key() for p in expected]:
        raise PlanChangedError(
            "the database or the scripts changed since the plan was shown; nothing was "
            "changed, run adopt again"
        )
    return plans


def carry_out_all(
    conn: Connection, apps: list[OrmarApp], plans: list[AdoptPlan], scripts_of: ScriptsOf
) -> None:
    """Carry out the plans of the apps still to adopt (``apps`` and ``plans`` pair up)."""
    for app, plan in zip(apps, plans, strict=True):
        if plan.state == "legacy":
            carry_out(conn, app, plan, scripts_of)
