"""What every facet of :class:`~.engine.MigrationEngine` stands on.

The engine is one class made of facets (mixins over :class:`EngineCore`): moving apps up and
down with plan confirmation (:mod:`.engine_moves`), adopting 0.3 bots, backing up and
restoring (:mod:`.engine_care`), and the rest in :mod:`.engine`. The core holds the bot's
database, registry and runner, the migration lock and the backup policy they share.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from sqlalchemy.engine import Connection

from ..apps import OrmarApp, Registry
from .backup import BackupMaker, Backups, Move
from .locking import migration_lock
from .results import Backup
from .runner import Runner
from .scripts import AppScripts
from .snapshot import AppSnapshot

if TYPE_CHECKING:
    from ..connection import PlainDatabase
    from ..database import BotDatabase

__all__ = ["EngineCore"]


class EngineCore:
    """The bot's database, registry, runner, lock and backup policy (see ``MigrationEngine``)."""

    def __init__(
        self,
        database: BotDatabase | PlainDatabase | None = None,
        registry: Registry | None = None,
        *,
        in_thread: bool | None = None,
        lock_timeout: float = 0.0,
        on_lock_wait: Callable[[], None] | None = None,
        backups: Backups | bool | None = None,
    ) -> None:
        if database is None or registry is None:  # the process's own (ormar's connection)
            from .. import apps
            from ..database import database as default_database

            database = database or default_database
            registry = registry or apps.registry
        self.database = database
        self.registry = registry
        self.runner = Runner(self.database, in_thread)
        #: Seconds a write waits for another process's migration to finish (0: fail at once).
        self.lock_timeout = lock_timeout
        #: Called (from the worker) once when a write has to wait for the lock.
        self.on_lock_wait = on_lock_wait
        #: Whether and where writes are backed up first (see :class:`.backup.Backups`).
        self.backups = Backups.of(backups)

    def close(self) -> None:
        """Close the connections the worker keeps between operations (SQLite; see
        :mod:`.runner`); the engine stays usable and opens new ones when next asked."""
        self.runner.close()

    @property
    def in_thread(self) -> bool:
        """Whether the work runs in a worker thread (see :mod:`.runner`)."""
        return self.runner.in_thread

    @property
    def dialect_name(self) -> str:
        return self.database.dialect_name

    def app(self, app: str | OrmarApp) -> OrmarApp:
        """The app for a name (or the app itself)."""
        return app if isinstance(app, OrmarApp) else self.registry.get(app)

    def scripts(
        self,
        app: str | OrmarApp,
        *,
        taken_on: Callable[[Callable[[], AppSnapshot]], AppSnapshot] | None = None,
    ) -> AppScripts:
        """The one per-app object of an operation: the app's scripts and Alembic
        configuration over one snapshot of it. With ``taken_on`` (from
        :func:`.snapshot.on_caller_thread`), the snapshot holds a private copy of the models'
        metadata, taken there: call it holding the migration lock, so the operation sees the
        app as it was when it got its turn, not a cog reload half done."""
        the_app = self.app(app)
        if taken_on is None:
            return AppScripts(the_app, self.dialect_name)
        return AppScripts(the_app, self.dialect_name, taken_on(lambda: AppSnapshot.take(the_app)))

    def _ordered(self, apps: Sequence[str | OrmarApp] | None) -> list[OrmarApp]:
        if apps is None:
            return self.registry.ordered()
        return self.registry.ordered([self.app(a).name for a in apps])

    @contextlib.contextmanager
    def _lock(self, conn: Connection) -> Iterator[None]:
        with migration_lock(conn, timeout=self.lock_timeout, on_wait=self.on_lock_wait):
            yield

    def _backup_before(self, conn: Connection, moves: list[Move]) -> Backup | None:
        """The one place a write is backed up (by the policy); raises if the backup fails."""
        return self._backup_maker().before_write(conn, moves)

    def _backup_maker(self) -> BackupMaker:
        apps = list(self.registry.apps.values())
        return BackupMaker(self.backups, self.database.sa_url, self.runner.scrub, apps)
