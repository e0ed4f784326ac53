"""Backups before the engine writes, on request, and restoring one.

SQLite: an online copy of the whole database file (sqlite3's backup API) beside it. PostgreSQL
and MariaDB/MySQL: the app's tables and version table dumped with the server's own tool
(``pg_dump``, ``mariadb-dump``/``mysqldump``), restored with its client (``psql``,
``mariadb``/``mysql``). The password goes through the environment (``PGPASSWORD``) or a
temporary options file readable by the owner alone, never on a command line.

Files are named ``<database>.<timestamp>.<label>.bak`` (SQLite) or ``.sql`` (dumps), where the
label says what was about to happen, e.g. ``economy-0001-0002``; the newest ``keep`` of a
database are kept. A backup that fails raises :class:`BackupError` before anything changed.
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import sqlalchemy
from sqlalchemy.engine import URL, Connection

from ..apps import OrmarApp
from ..errors import BackupError, MigrationError
from .dumps import ServerTools, dialect_of, file_kind
from .executor import plan_app
from .results import Backup, RestoreResult
from .scripts import ScriptsOf

__all__ = [
    "BackupMaker",
    "Backups",
    "Move",
    "label_for",
    "manual_label",
    "plain_label",
    "planned_moves",
]

#: (app, revision before, revision after) of one app about to move; ``None`` is base.
Move = tuple[OrmarApp, str | None, str | None]

_NAME = re.compile(r"^(?P<db>.+)\.\d{8}-\d{6}-\d{3}\.[A-Za-z0-9_.+-]+\.(bak|sql)$")
_UNSAFE = re.compile(r"[^A-Za-z0-9_+-]+")


@dataclass(frozen=True)
class Backups:
    """When and where the engine backs up before it writes.

    ``enabled``: ``None`` (default) backs up a SQLite database file and not a server
    database; ``True`` backs up every database (a server's needs its dump tool); ``False``
    never. ``folder``: where backups go (default: beside a SQLite file; ``./backups`` for a
    server). ``keep``: how many of a database's newest backups stay (``None``: all).
    ``dump_tool`` / ``restore_tool``: the server tools' paths when they are not on PATH.
    """

    enabled: bool | None = None
    folder: Path | str | None = None
    keep: int | None = 5
    dump_tool: str | None = None
    restore_tool: str | None = None

    @classmethod
    def of(cls, value: Backups | bool | None) -> Backups:
        """Settings from ``Backups``, ``True``/``False`` or ``None`` (the default policy)."""
        return value if isinstance(value, Backups) else cls(enabled=value)

    def wanted(self, url: URL) -> bool:
        """Whether writes on this database are backed up first."""
        if self.enabled is not None:
            return self.enabled
        return url.get_backend_name() == "sqlite" and _sqlite_file(url) is not None


def label_for(moves: Sequence[Move]) -> str:
    """``economy-0001-0002``; several apps joined by ``+``, or counted when that gets long."""
    parts = [f"{app.name}-{before or 'base'}-{after or 'base'}" for app, before, after in moves]
    label = "+".join(parts)
    if len(label) > 100:
        label = f"{parts[0][:60]}+{len(parts) - 1}-more"
    return _UNSAFE.sub("_", label) or "backup"


def plain_label(*words: str) -> str:
    """A label from ``words`` joined by ``-``, safe in a file name (``adopt-economy``)."""
    return _UNSAFE.sub("_", "-".join(words))[:100] or "backup"


class BackupMaker:
    """Makes and restores backups of one database, for the engine (runs in its worker)."""

    def __init__(
        self,
        settings: Backups,
        url: URL,
        scrub: Callable[[str], str],
        every_app: Sequence[OrmarApp] = (),
    ) -> None:
        self.settings = settings
        #: Every registered app, so that one app's dump leaves other apps' tables out.
        self.every_app = list(every_app)
        #: A file pruning must leave alone (the backup being restored).
        self.protect: Path | None = None
        self.url = url
        self.dialect = dialect_of(url)
        self.tools = ServerTools(url, settings.dump_tool, settings.restore_tool, scrub)
        self.scrub = self.tools.scrub

    # -- making one ------------------------------------------------------------------------

    def before_write(self, conn: Connection, moves: Sequence[Move]) -> Backup | None:
        """The backup the policy asks for before ``moves`` (``None``: off, or nothing moves)."""
        moves = [m for m in moves if m[1] != m[2]]
        if not moves or not self.settings.wanted(self.url):
            return None
        apps = [m[0] for m in moves]
        versions = {app.version_table for app, before, _ in moves if before is None}
        if not set(self._tables(conn, apps)) - versions:
            return None  # a first upgrade: no tables yet (an empty version table), nothing to lose
        return self.take(conn, apps, label_for(moves), required=False)

    def take(
        self, conn: Connection, apps: Sequence[OrmarApp], label: str, *, required: bool
    ) -> Backup:
        """Back up ``apps`` (SQLite: the whole file) to a new file; prune to the newest N.

        A missing dump tool gives a :class:`Backup` that says why none was taken, or with
        ``required`` a :class:`BackupError`; any other failure is a :class:`BackupError`.
        """
        names = tuple(a.name for a in apps)
        if self.dialect == "sqlite":
            source = _sqlite_file(self.url)
            if source is None:
                return self._skip(names, "an in-memory database has no file to copy", required)
            target = self._target(source.name, label, ".bak", source.parent)
            self._guard(target, lambda part: _sqlite_copy(source, part))
            tool = "sqlite3 backup"
        else:
            tables = self._tables(conn, apps)
            if not tables:
                return self._skip(names, "the app has no tables in the database yet", required)
            program = self.tools.program(dump=True)
            if program is None:
                why = f"{self.tools.names(dump=True)} not found on PATH (see Backups.dump_tool)"
                return self._skip(names, why, required)
            target = self._target(self.url.database or "database", label, ".sql", Path("backups"))
            self._guard(target, lambda part: self.tools.dump(program, tables, part))
            tool = Path(program).name
        removed = self._prune(target)
        return Backup(target, names, tool, target.stat().st_size, None, removed)

    def _skip(self, apps: tuple[str, ...], why: str, required: bool) -> Backup:
        if required:
            raise BackupError(f"no backup taken: {why}")
        return Backup(None, apps, skipped=why)

    def _target(self, stem: str, label: str, suffix: str, default: Path) -> Path:
        folder = Path(self.settings.folder) if self.settings.folder is not None else default
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BackupError(
                f"backup failed, nothing was changed: cannot create {folder}: {exc.strerror}"
            ) from None
        while True:
            now = datetime.now(UTC)
            stamp = f"{now:%Y%m%d-%H%M%S}-{now.microsecond // 1000:03d}"
            target = folder / f"{stem}.{stamp}.{label}{suffix}"
            if not target.exists():
                return target
            time.sleep(0.001)

    def _guard(self, target: Path, write: Callable[[Path], None]) -> None:
        """Write through ``<target>.part`` and rename; any failure is a one-line BackupError."""
        part = target.with_name(target.name + ".part")
        try:
            write(part)
            os.replace(part, target)
        except BackupError:
            part.unlink(missing_ok=True)
            raise
        except (OSError, sqlite3.Error) as exc:
            part.unlink(missing_ok=True)
            detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise BackupError(
                self.scrub(f"backup failed, nothing was changed: {target.parent}: {detail}")
            ) from None

    def _prune(self, newest: Path) -> tuple[Path, ...]:
        keep = self.settings.keep
        if keep is None or keep < 1:
            return ()
        match = _NAME.match(newest.name)
        db = match.group("db") if match else None
        ours = sorted(
            p
            for p in newest.parent.iterdir()
            if (m := _NAME.match(p.name)) and m.group("db") == db and p.resolve() != self.protect
        )
        old = ours[:-keep]
        for path in old:
            path.unlink(missing_ok=True)
        return tuple(old)

    # -- server databases ----------------------------------------------------------------

    def _tables(self, conn: Connection, apps: Sequence[OrmarApp]) -> list[str]:
        """The apps' tables that exist: modelled ones, version tables, and prefixed leftovers."""
        existing = set(sqlalchemy.inspect(conn).get_table_names())
        if conn.in_transaction():
            conn.rollback()
        wanted: set[str] = set()
        for app in apps:
            others = {t for a in self.every_app if a is not app for t in a.table_names}
            wanted |= app.table_names | {app.version_table}
            prefixes = (f"{app.name}_", f"{app.name}.")  # and 0.3's "<app>.<model>s" tables
            wanted |= {t for t in existing if t.startswith(prefixes) and t not in others}
        return sorted(wanted & existing)

    # -- restoring -------------------------------------------------------------------------

    def check(self, path: Path) -> None:
        """Refuse a file that is not a backup of this kind of database."""
        kind = file_kind(path)
        if kind != self.dialect:
            raise BackupError(
                f"{path.name} is not a backup of a {self.dialect} database"
                + (f" (it is a {kind} backup)" if kind else "")
            )

    def restore(self, conn: Connection, path: Path, apps: Sequence[OrmarApp]) -> RestoreResult:
        """Put ``path`` back (SQLite: the whole database; servers: its tables), after backing
        up ``apps`` as they are when the policy asks for backups."""
        self.check(path)
        safety = None
        if self.settings.wanted(self.url):
            self.protect = path.resolve()
            safety = self.take(conn, apps, "before-restore", required=False)
        if conn.in_transaction():
            conn.commit()
        restored = self._put_back(path)
        return RestoreResult(restored.path, restored.tool, safety)

    def _put_back(self, path: Path) -> RestoreResult:
        if self.dialect == "sqlite":
            target = _sqlite_file(self.url)
            if target is None:
                raise BackupError("cannot restore into an in-memory database")
            try:
                _sqlite_copy(path, target)
            except sqlite3.Error as exc:
                raise BackupError(f"restore failed: {exc}") from None
            return RestoreResult(path, "sqlite3 backup")
        return self.tools.restore(path)


def _sqlite_file(url: URL) -> Path | None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _sqlite_copy(source: Path, target: Path) -> None:
    """Copy a live SQLite database page by page (other connections may keep reading)."""
    if not source.is_file():
        raise sqlite3.OperationalError(f"no database file at {source}")
    src = sqlite3.connect(source)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


def planned_moves(
    conn: Connection,
    apps: Sequence[OrmarApp],
    target: str,
    direction: Literal["up", "down"],
    scripts_of: ScriptsOf,
) -> list[Move]:
    """Where each app would go; an app whose plan fails is left to the write to report."""
    moves: list[Move] = []
    for app in apps:
        scripts = scripts_of(app)
        if not scripts.has_scripts():
            continue
        try:
            before, after, steps = plan_app(conn, scripts, target, direction)
        except MigrationError:
            continue
        if steps:
            moves.append((app, before, after))
    if conn.in_transaction():
        conn.rollback()
    return moves


def manual_label(conn: Connection, apps: Sequence[OrmarApp], scripts_of: ScriptsOf) -> str:
    """``economy-0002`` for one app (where it stands), ``all`` for every app."""
    if len(apps) != 1:
        return "all"
    current = scripts_of(apps[0]).current(conn)
    if conn.in_transaction():
        conn.rollback()
    return _UNSAFE.sub("_", f"{apps[0].name}-{current or 'base'}")
