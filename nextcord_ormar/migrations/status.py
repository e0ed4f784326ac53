"""Where an app stands: what is applied, pending, edited after it ran, or not migrated yet.

:func:`app_statuses` answers for many apps at once at about the cost of one: the tables it
needs are asked for by name in one statement (the database's tables are never listed),
every app's version row and ledger rows come in one statement each, and one Alembic
comparison (:func:`model_diffs`) reflects every app's tables together, its
operations then split per app by table. :func:`app_status` and :func:`model_diff` are the
same questions for one app alone (``make`` compares one app; the tests hold the two ways
equal).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy
from alembic.autogenerate import produce_migrations
from alembic.operations import ops
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.types import BIGINT, INTEGER

from . import ledger, legacy
from .enum_compare import SCOPES_OPTION, EnumScope
from .environment import ATTRIBUTE, AppEnvironment, includes
from .listing import listing_only
from .operations import describe_operations
from .owned import removed_tables
from .results import AppStatus
from .scripts import AppScripts

__all__ = ["app_status", "app_statuses", "diff_if_current", "model_diff", "model_diffs"]


def app_status(conn: Connection, scripts: AppScripts, compare: bool) -> AppStatus:
    """Where one app stands: applied revision, heads, pending and tampered scripts, changes."""
    app = scripts.snapshot
    current = scripts.current(conn)
    recorded = ledger.recorded(conn, app.name)
    upgrade_ops = model_diff(conn, scripts) if compare else None
    return _status(scripts, current, recorded, upgrade_ops)


def app_statuses(
    conn: Connection, all_scripts: Sequence[AppScripts], compare: bool
) -> list[AppStatus]:
    """:func:`app_status` of every app in ``all_scripts`` (in that order), in one pass:
    a fixed number of statements for any number of apps, besides reflecting their tables.
    Also notes each app's 0.3 traces (:attr:`AppStatus.legacy`)."""
    names = _tables_asked(conn, all_scripts)
    found = legacy.detect(conn, [s.app for s in all_scripts], table_names=names)
    currents = _currents(conn, all_scripts, names)
    recorded = (
        ledger.recorded_apps(conn, [s.snapshot.name for s in all_scripts])
        if ledger.LEDGER_TABLE in names
        else {}
    )
    diffs = model_diffs(conn, all_scripts) if compare else {}
    statuses = []
    for scripts in all_scripts:
        name = scripts.snapshot.name
        status = _status(
            scripts,
            currents.get(name),
            recorded.get(name, {}),
            diffs.get(name) if compare else None,
        )
        status.legacy = found.get(name)
        statuses.append(status)
    return statuses


def _tables_asked(conn: Connection, all_scripts: Sequence[AppScripts]) -> set[str]:
    """The tables :func:`app_statuses` looks for, asked by name, not listed: the apps'
    version tables, the ledger, 0.3's ``alembic.<app>``, and (for an app without a version
    table, in one statement for all of them) 0.3's ``<app>.*`` tables; all that
    :func:`.legacy.detect` and :func:`_currents` read of the list."""
    wanted = {ledger.LEDGER_TABLE}
    for scripts in all_scripts:
        app = scripts.app
        wanted |= {app.version_table, scripts.snapshot.version_table}
        wanted.add(legacy.legacy_version_table(app.name))
    with listing_only(conn, wanted):
        names = set(sqlalchemy.inspect(conn).get_table_names())
    unversioned = [s.app.name for s in all_scripts if s.app.version_table not in names]
    if unversioned:
        names |= set(legacy.tables_starting_with(conn, [f"{app}." for app in unversioned]))
    return names


def _currents(
    conn: Connection, all_scripts: Sequence[AppScripts], names: set[str]
) -> dict[str, str | None]:
    """Each app's applied revision (as ``AppScripts.current`` reads it), in one statement."""
    tables = [s.snapshot.version_table for s in all_scripts]
    parts = [
        sqlalchemy.select(
            sqlalchemy.literal_column(str(i)).label("n"),
            sqlalchemy.table(table, sqlalchemy.column("version_num")).c.version_num,
        )
        for i, table in enumerate(tables)
        if table in names
    ]
    currents: dict[str, str | None] = {}
    if not parts:
        return currents
    query: Any = parts[0] if len(parts) == 1 else sqlalchemy.union_all(*parts)
    for row in conn.execute(query):
        currents.setdefault(all_scripts[int(row[0])].snapshot.name, row[1])
    return currents


def _status(
    scripts: AppScripts,
    current: str | None,
    recorded: dict[str, str],
    upgrade_ops: ops.UpgradeOps | None,
) -> AppStatus:
    app = scripts.snapshot
    known = scripts.known()
    heads = scripts.heads()
    unknown_current = current is not None and current not in known
    pending = (
        [scripts.info(s) for s in scripts.path_between(current, heads[0])]
        if heads and not unknown_current
        else []
    )
    chain = known[: known.index(current) + 1] if current in known else []
    tampered = [
        rev
        for rev, script in zip(chain, scripts.revisions(), strict=False)
        if rev in recorded and recorded[rev] != ledger.checksum(Path(script.path))
    ]
    differs: bool | None = None
    changes = []
    if upgrade_ops is not None:
        changes = describe_operations(upgrade_ops)
        differs = bool(changes)
    return AppStatus(
        app=app.name,
        current=current,
        heads=heads,
        pending=pending,
        differs=differs,
        changes=changes,
        migrations_path=scripts.folder,
        unknown_current=unknown_current,
        tampered=tampered,
    )


def model_diff(conn: Connection, scripts: AppScripts) -> ops.UpgradeOps:
    """Alembic's comparison of the app's models (as ``scripts``' snapshot holds them) with
    the database."""
    removed = removed_tables(scripts)
    env = scripts.config(removed_tables=removed).attributes[ATTRIBUTE]
    options = env.options()
    context = MigrationContext.configure(connection=conn, opts=options)
    with listing_only(conn, env.listed_names()):  # only what include_name accepts
        upgrade_ops = produce_migrations(context, scripts.snapshot.metadata).upgrade_ops
    assert upgrade_ops is not None
    return upgrade_ops


def model_diffs(conn: Connection, all_scripts: Sequence[AppScripts]) -> dict[str, ops.UpgradeOps]:
    """:func:`model_diff` of every app in ``all_scripts``, from one Alembic comparison.

    Alembic reflects every table the apps' own rules let through at once (its ``get_multi_*``
    batches); each app's rules (``include_name``/``include_object``, removed tables, enum
    types) then decide as they would for the app alone, and each operation goes to the app
    whose table it is. Apps over different metadata are compared in one pass per metadata.
    """
    diffs: dict[str, ops.UpgradeOps] = {}
    groups: dict[int, list[AppScripts]] = {}
    for scripts in all_scripts:
        groups.setdefault(id(scripts.snapshot.metadata), []).append(scripts)
    for group in groups.values():
        diffs.update(_diff_together(conn, group))
    return diffs


def _diff_together(conn: Connection, group: list[AppScripts]) -> dict[str, ops.UpgradeOps]:
    envs: dict[str, AppEnvironment] = {}
    for scripts in group:
        env = scripts.config(removed_tables=removed_tables(scripts)).attributes[ATTRIBUTE]
        envs[scripts.snapshot.name] = env
    owner: dict[str, AppEnvironment] = {}
    for env in envs.values():
        for table in (*env.removed_tables, *env.table_names):  # a model wins over a removal
            owner[table] = env

    # Each app's include_name rule, over every app's listed names at once (one set, not a
    # call per app for each name).
    listed = frozenset().union(*(env.listed_names() for env in envs.values()))

    def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
        return includes(listed, name, type_)

    def include_object(
        obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
    ) -> bool:
        table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
        if table is None and type_ != "table":
            return True  # not a table's part: every app's rules let it through
        env = owner.get(table) if table is not None else None
        return env is not None and env.include_object(obj, name, type_, reflected, compare_to)

    scopes = {name: EnumScope(env.include_object) for name, env in envs.items()}
    options = next(iter(envs.values())).options()
    options.update(
        include_name=include_name,
        include_object=include_object,
        **{SCOPES_OPTION: list(scopes.values())},
    )
    context = MigrationContext.configure(connection=conn, opts=options)
    if conn.dialect.name == "postgresql":
        _serials_at_once(context)
    with listing_only(conn, listed):  # only what some app's include_name accepts
        together = produce_migrations(context, next(iter(envs.values())).metadata).upgrade_ops
    assert together is not None
    mine: dict[str, list[Any]] = {name: [] for name in envs}
    for op in together.ops:
        of = getattr(op, "table_name", None)
        for name, env in envs.items():
            if of in env.table_names or of in env.removed_tables:
                mine[name].append(op)
    return {
        name: ops.UpgradeOps(ops=[*scopes[name].first, *mine[name], *scopes[name].last])
        for name in envs
    }


_SEQUENCE_DEFAULT = re.compile(r"nextval\('(.+?)'::regclass\)")
_SEQUENCE_OWNERS = sqlalchemy.text(
    "SELECT CAST(CAST(s.oid AS regclass) AS text), a.attname FROM pg_class s "
    "JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass "
    "AND d.refclassid = 'pg_class'::regclass "
    "JOIN pg_class t ON t.oid = d.refobjid "
    "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid "
    "WHERE s.relkind = 'S'"
)


def _serials_at_once(context: MigrationContext) -> None:
    """On PostgreSQL, Alembic asks the catalogue, for every reflected integer column whose
    default draws from a sequence, which column owns that sequence (a ``SERIAL``'s default is
    then left out of the comparison): one statement per table. For this comparison only
    (this context's own implementation object), the owners of all sequences are read in one
    statement, when the first such column is met, and the same rule applied to each."""
    impl: Any = context.impl
    owners: dict[str, str] | None = None

    def column_reflect(inspector: Any, table: Any, column_info: dict[str, Any]) -> None:
        nonlocal owners
        default = column_info.get("default")
        if not default or not isinstance(column_info["type"], INTEGER | BIGINT):
            return
        found = _SEQUENCE_DEFAULT.match(default)
        if found is None:
            return
        if owners is None:
            rows = context.connection.execute(_SEQUENCE_OWNERS)  # type: ignore[union-attr]
            owners = {}
            for sequence, column in rows:
                owners.setdefault(str(sequence), str(column))
        if owners.get(found.group(1)) == column_info["name"]:
            del column_info["default"]  # the column's own sequence: a SERIAL

    impl.autogen_column_reflect = column_reflect


def diff_if_current(conn: Connection, scripts: AppScripts) -> ops.UpgradeOps | None:
    """The app's changes, if its database is at its head (else make will refuse)."""
    heads = scripts.heads()
    current = not heads or scripts.current(conn) in heads
    return model_diff(conn, scripts) if current else None
