"""Make and check migrations from the history: replay the scripts into a scratch database.

Alembic compares models with a live database, so a migration made on a developer's database
that drifted (a column added by hand) carries that drift, and a bot with no database at hand
cannot make one at all. Here the app's scripts (and those of the apps it references, in
dependency order) are applied to a scratch database of the same dialect, and the comparison
runs against that: the result is the migration every deployment of the bot needs.

The scratch database is a temporary file for SQLite, and a temporary database on the bot's
server (or on ``replay_url``) for PostgreSQL and MySQL/MariaDB. It is always dropped
afterwards; its name (``nxo_replay_<host>_<pid>_<random>``) lets the next run drop one left
behind by a process that died.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import secrets
import socket
import tempfile
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from ..apps import OrmarApp
from ..connection import normalize_url, scrub_password
from ..errors import ReplayError, first_line
from .engine import MigrationEngine
from .questions import Questioner
from .renames import Rename
from .results import AppRun, MakeResult

log = logging.getLogger(__name__)

__all__ = ["PREFIX", "make_from_history", "replayed"]

#: Every scratch database's name starts with this.
PREFIX = "nxo_replay_"
_NAME = re.compile(rf"^{PREFIX}(?P<host>[0-9a-f]{{6}})_(?P<pid>\d+)_[0-9a-f]{{8}}$")
_FRAME = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+)')


async def make_from_history(
    engine: MigrationEngine,
    apps: Sequence[str | OrmarApp],
    *,
    message: str | None = None,
    empty: bool = False,
    replay_url: str | URL | None = None,
    renames: Sequence[Rename] = (),
    questioner: Questioner | None = None,
) -> list[MakeResult]:
    """Each app's next migration, compared with its replayed history instead of the database.

    ``renames`` and ``questioner`` work as in :meth:`MigrationEngine.make`.
    """
    chosen = [engine.app(a) for a in apps]
    options: dict[str, Any] = {"renames": renames, "questioner": questioner}
    async with replayed(engine, chosen, replay_url) as scratch:
        return [await scratch.make(app, message=message, empty=empty, **options) for app in chosen]


@contextlib.asynccontextmanager
async def replayed(
    engine: MigrationEngine,
    apps: Sequence[OrmarApp],
    replay_url: str | URL | None = None,
) -> AsyncIterator[MigrationEngine]:
    """An engine over a scratch database holding ``apps`` (and their dependencies) at head.

    The scratch database is dropped when the block ends, however it ends.
    """
    scratch = Scratch(engine.database.sa_url, replay_url)
    url = await scratch.create()
    log.info("replaying the history into scratch database %s", scratch.name)
    try:
        from ..database import BotDatabase

        database = BotDatabase()
        database.configure(url)
        twin = MigrationEngine(database, engine.registry, in_thread=True)
        try:
            everything = engine.registry.with_dependencies([a.name for a in apps])
            result = await twin.upgrade(everything)
            for run in result.apps:
                if run.error is not None:
                    raise _script_failed(twin, run) from None
            yield twin
        finally:
            twin.close()  # its kept connection, before the scratch database goes
    finally:
        await scratch.drop()
        log.info("dropped scratch database %s", scratch.name)


def _script_failed(engine: MigrationEngine, run: AppRun) -> ReplayError:
    """The error for a script that failed to replay: its file, line and the error."""
    app = engine.app(run.app)
    where = f"migration {run.failed_revision}" if run.failed_revision else "a migration"
    folder = engine.scripts(app).folder.resolve()
    for match in reversed(list(_FRAME.finditer(run.traceback or ""))):
        file = Path(match["file"])
        if file.resolve().parent == folder:
            where = f"{_shown(file)}, line {match['line']}"
            break
    return ReplayError(
        f"cannot replay the history of app {run.app!r}: {where} failed on an empty "
        f"{engine.dialect_name} database: {run.error}; no migration written"
    )


def _shown(path: Path) -> str:
    with contextlib.suppress(ValueError):
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    return str(path)


def scratch_name() -> str:
    """A fresh scratch database name: prefix, this host, this process, a random part."""
    return f"{PREFIX}{_host()}_{os.getpid()}_{secrets.token_hex(4)}"


def is_stale(name: str) -> bool:
    """Whether ``name`` is a scratch database left by a dead process of this host."""
    match = _NAME.match(name)
    return match is not None and match["host"] == _host() and not _alive(int(match["pid"]))


def _host() -> str:
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:6]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Scratch:
    """One scratch database of the bot's dialect: created, then dropped."""

    def __init__(self, bot_url: URL, replay_url: str | URL | None) -> None:
        self.dialect = bot_url.get_backend_name()
        server = normalize_url(replay_url) if replay_url is not None else bot_url
        if server.get_backend_name() != self.dialect:
            raise ReplayError(
                f"the replay URL is a {server.get_backend_name()} server but the bot uses "
                f"{self.dialect}: the history must be replayed on the same dialect"
            )
        self.server = server
        self.explicit = replay_url is not None
        self.name = scratch_name()
        self.url: URL | None = None

    def where(self) -> str:
        """The server, without credentials, for messages."""
        if self.dialect == "sqlite":
            return "a temporary SQLite file"
        port = f":{self.server.port}" if self.server.port else ""
        return f"the {self.dialect} server {self.server.host or 'localhost'}{port}"

    async def create(self) -> URL:
        if self.dialect == "sqlite":
            folder = Path(tempfile.gettempdir())
            for old in folder.glob(f"{PREFIX}*.sqlite3*"):
                if is_stale(old.name.partition(".")[0]):
                    old.unlink(missing_ok=True)
            self.url = self.server.set(database=str(folder / f"{self.name}.sqlite3"), query={})
            return self.url
        await self._admin(self._create_statements())
        self.url = self.server.set(database=self.name)
        return self.url

    async def drop(self) -> None:
        if self.url is None:
            return
        if self.dialect == "sqlite":
            assert self.url.database is not None
            file = Path(self.url.database)
            for part in file.parent.glob(f"{self.name}.*"):  # with -journal, .nxo-lock...
                part.unlink(missing_ok=True)
            return
        await self._admin([self._drop(self.name)])

    def _create_statements(self) -> list[str]:
        return [f"CREATE DATABASE {self.name}"]

    def _drop(self, name: str) -> str:
        force = " WITH (FORCE)" if self.dialect == "postgresql" else ""
        return f"DROP DATABASE IF EXISTS {name}{force}"

    def _admin_urls(self) -> list[URL]:
        if self.dialect == "postgresql":
            names = [self.server.database, "postgres", "template1"]
            return [self.server.set(database=n) for n in dict.fromkeys(names) if n]
        return [self.server.set(database=self.server.database if self.explicit else None)]

    async def _admin(self, statements: list[str]) -> None:
        """Drop stale scratch databases, then run ``statements``, on an autocommit connection."""
        error: Exception | None = None
        for url in self._admin_urls():
            engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
            try:
                async with engine.connect() as conn:
                    for name in await self._listed(conn):
                        if is_stale(name) and name != self.name:
                            with contextlib.suppress(sqlalchemy.exc.DBAPIError):
                                await conn.execute(sqlalchemy.text(self._drop(name)))
                    for statement in statements:
                        try:
                            await conn.execute(sqlalchemy.text(statement))
                        except sqlalchemy.exc.DBAPIError as exc:
                            if statement.startswith("CREATE"):
                                self.url = None
                                raise self._refused(exc) from None
                            raise
                return
            except (OSError, sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError) as exc:
                error = exc
            finally:
                await engine.dispose()
        assert error is not None
        raise ReplayError(
            f"cannot reach {self.where()} for the replay: "
            f"{scrub_password(first_line(error), self.server)}"
        )

    async def _listed(self, conn: AsyncConnection) -> list[str]:
        if self.dialect == "postgresql":
            query = "SELECT datname FROM pg_database WHERE datname LIKE 'nxo\\_replay\\_%'"
        else:
            query = "SHOW DATABASES LIKE 'nxo\\_replay\\_%'"
        return [str(row[0]) for row in await conn.execute(sqlalchemy.text(query))]

    def _refused(self, exc: sqlalchemy.exc.DBAPIError) -> ReplayError:
        alternative = (
            "point --replay-url (or replay_url in nxalembic.ini) at another server"
            if self.explicit
            else "pass --replay-url URL (or set replay_url in nxalembic.ini) naming a server "
            "where it may"
        )
        return ReplayError(
            f"cannot create a scratch database on {self.where()} to replay the history "
            f"(the server refused: {type(exc.orig).__name__}); give the database user the "
            f"right to create databases, or {alternative}"
        )
