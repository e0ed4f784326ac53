"""Bots coming from nextcord-ormar 0.3: notice what it left, and read its scripts.

0.3 named an app's tables ``<app>.<model>s`` (a dot inside one quoted identifier, not a
schema), kept its Alembic version in a table literally called ``alembic.<app>``, and put the
scripts of a single-file cog into ``<cog folder>/migrations``, shared by the cogs beside it.
:func:`detect` finds those traces for the loaded apps (until an app has a version table of
its own), :func:`refuse` keeps ``make`` and ``upgrade`` off such an app, and
:func:`app_chain` picks one app's scripts out of a folder. :mod:`.adopt` carries them over.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy
from sqlalchemy.engine import Connection

from ..apps import OrmarApp
from ..errors import LegacyDatabaseError

__all__ = [
    "LegacyScript",
    "LegacyState",
    "app_chain",
    "detect",
    "read_scripts",
    "refuse",
]


def legacy_version_table(app: str) -> str:
    """The version table nextcord-ormar 0.3 kept for ``app``."""
    return f"alembic.{app}"


@dataclass(frozen=True)
class LegacyState:
    """The 0.3 traces of one app that has not been adopted."""

    app: str
    version_table: str | None
    tables: tuple[str, ...]

    def describe(self) -> str:
        """One line: what was found, and the command that carries it over."""
        found = []
        if self.version_table:
            found.append(f'version table "{self.version_table}"')
        if self.tables:
            found.append("tables " + ", ".join(f'"{t}"' for t in self.tables))
        return (
            f"{self.app}: history from nextcord-ormar 0.3 ({'; '.join(found)}); "
            f"run 'nxalembic adopt --app {self.app}' to carry it over"
        )


def detect(
    conn: Connection, apps: list[OrmarApp], table_names: set[str] | None = None
) -> dict[str, LegacyState]:
    """The apps among ``apps`` with 0.3 traces and no version table of their own yet.

    Every question is asked by name: an app's version tables (its own, and 0.3's
    ``alembic.<app>``), and the tables whose names start with ``<app>.``; the database's
    tables are never listed, so the cost does not grow with tables no app owns. A caller
    that has listed the tables already passes them as ``table_names`` (then nothing is asked).
    """
    inspector = sqlalchemy.inspect(conn)
    found: dict[str, LegacyState] = {}
    for app in apps:
        version = legacy_version_table(app.name)
        prefix = f"{app.name}."
        if table_names is not None:
            if app.version_table in table_names:
                continue
            has_version = version in table_names
            tables = tuple(sorted(n for n in table_names if n.startswith(prefix)))
        else:
            if inspector.has_table(app.version_table):
                continue
            has_version = inspector.has_table(version)
            tables = tuple(sorted(tables_starting_with(conn, [prefix])))
        if has_version or tables:
            found[app.name] = LegacyState(app.name, version if has_version else None, tables)
    return found


def tables_starting_with(conn: Connection, prefixes: list[str]) -> list[str]:
    """The names of the tables (not views) of the connection's schema that start with one
    of ``prefixes``, asked of the database's catalog in one statement (a ``LIKE`` each,
    joined with ``OR``); the database's other tables are never read, and a table is named
    once even if several prefixes match it. The patterns turn ``%``, ``_`` and ``\\`` of a
    prefix into ``_`` (any one character), so no escaping is needed anywhere; the exact test
    is made here."""
    patterns = {f"p{i}": re.sub(r"[%_\\]", "_", prefix) + "%" for i, prefix in enumerate(prefixes)}
    if not patterns:
        return []
    dialect = conn.dialect.name

    def likes(column: str) -> str:
        return " OR ".join(f"{column} LIKE :{key}" for key in patterns)

    def wanted(name: str) -> bool:
        return any(name.startswith(prefix) for prefix in prefixes)

    if dialect == "sqlite":
        query = f"SELECT name FROM sqlite_master WHERE type = 'table' AND ({likes('name')})"
    elif dialect == "postgresql":
        query = (
            "SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = current_schema() "
            f"AND c.relkind IN ('r', 'p') AND ({likes('c.relname')})"
        )
    elif dialect in ("mysql", "mariadb"):
        if len(patterns) == 1:
            rows = conn.execute(sqlalchemy.text("SHOW FULL TABLES LIKE :p0"), patterns)
        else:
            schema = str(conn.dialect.default_schema_name)
            column = conn.dialect.identifier_preparer.quote_identifier(f"Tables_in_{schema}")
            column = column.replace(":", "\\:")
            rows = conn.execute(
                sqlalchemy.text(f"SHOW FULL TABLES WHERE {likes(column)}"), patterns
            )
        return [str(r[0]) for r in rows if r[1] == "BASE TABLE" and wanted(str(r[0]))]
    else:  # not a supported database: list them all
        return [n for n in sqlalchemy.inspect(conn).get_table_names() if wanted(n)]
    rows = conn.execute(sqlalchemy.text(query), patterns)
    return [str(r[0]) for r in rows if wanted(str(r[0]))]


def refuse(conn: Connection, apps: list[OrmarApp], what: str) -> None:
    """Raise :class:`LegacyDatabaseError` if any of ``apps`` still needs adopting."""
    found = detect(conn, apps)
    if found:
        names = ", ".join(sorted(found))
        first = next(iter(found.values()))
        raise LegacyDatabaseError(
            f"cannot {what}: {first.describe()} (apps to adopt: {names}); nothing was changed"
        )


# -- the 0.3 scripts --------------------------------------------------------------------------

_REVISION_RE = re.compile(r"^revision\b[^=\n]*=\s*(.+)$", re.M)
_DOWN_RE = re.compile(r"^down_revision\b[^=\n]*=\s*(.+)$", re.M)


@dataclass(frozen=True)
class LegacyScript:
    """A migration file, read as text (never imported): its revision and its parents."""

    path: Path
    revision: str
    parents: tuple[str, ...]
    text: str


def _literal(source: str) -> object:
    try:
        return ast.literal_eval(source.split("#", 1)[0].strip())
    except (ValueError, SyntaxError):
        return None


def read_scripts(folder: Path) -> list[LegacyScript]:
    """The migration scripts in ``folder`` (files that do not parse as one are skipped)."""
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob("*.py")):
        text = path.read_text(encoding="utf-8", errors="replace")
        rev, down = _REVISION_RE.search(text), _DOWN_RE.search(text)
        revision = _literal(rev.group(1)) if rev else None
        parents = _literal(down.group(1)) if down else None
        if not isinstance(revision, str):
            continue
        if isinstance(parents, str):
            parents = (parents,)
        names = tuple(str(p) for p in parents) if isinstance(parents, tuple | list) else ()
        found.append(LegacyScript(path, revision, names, text))
    return found


def app_chain(scripts: list[LegacyScript], app: str, current: str | None) -> list[LegacyScript]:
    """The app's own scripts among ``scripts`` (a folder may hold several apps'), oldest first.

    Its history is what the version row reaches through ``down_revision``, plus what
    descends from that; with no version row, the scripts that create ``<app>.`` tables.
    """
    by_rev = {s.revision: s for s in scripts}
    mine: set[str] = set()
    seeds = [current] if current in by_rev else []
    if current is None:
        seeds = [s.revision for s in scripts if f"'{app}." in s.text or f'"{app}.' in s.text]
    stack = list(seeds)
    while stack:
        rev = stack.pop()
        if rev in by_rev and rev not in mine:
            mine.add(rev)
            stack.extend(by_rev[rev].parents)
    grown = True
    while grown:
        grown = False
        for script in scripts:
            if script.revision not in mine and any(p in mine for p in script.parents):
                mine.add(script.revision)
                grown = True
    ordered: list[LegacyScript] = []
    while len(ordered) < len(mine):
        done = {s.revision for s in ordered}
        ready = [
            s
            for s in scripts
            if s.revision in mine and s.revision not in done and set(s.parents) <= done
        ]
        if not ready:
            break
        ordered.extend(ready)
    return ordered
