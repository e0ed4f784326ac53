"""``nextcord_ormar.Bot``: a nextcord bot that owns the database connection of its cogs' models."""

from __future__ import annotations

import gc
import logging
import os
from typing import TYPE_CHECKING, Any

from nextcord.ext import commands

from .apps import OrmarApp, Registry, registry
from .database import BotDatabase, database
from .errors import DatabaseConnectError
from .redact import mask_url
from .startup import StartupGate, resolve_policy

if TYPE_CHECKING:  # the engine (and Alembic) is imported only when migrations run
    from .migrations.backup import Backups

__all__ = [
    "DEFAULT_DATABASE_URL",
    "AutoShardedBot",
    "Bot",
    "DatabaseBotMixin",
    "DatabaseConnectError",
]

log = logging.getLogger("nextcord_ormar")

#: Used when neither ``database_url=`` nor the ``DATABASE_URL`` environment variable is set.
DEFAULT_DATABASE_URL = "sqlite:///bot.sqlite3"


class DatabaseBotMixin:
    """The database side of :class:`Bot` and :class:`AutoShardedBot`.

    The database is connected at the start of :meth:`login` (so before the gateway
    connects and before any cog's ``on_ready`` or command runs) and disconnected at the
    very end of :meth:`close`, after nextcord has unloaded the extensions and cogs.

    ``freeze_gc`` (default on) calls :func:`gc.freeze` at login (before the start-up check,
    when there is one, and after it), so that the garbage collector stops rescanning the
    long-lived objects of every imported module; without it a full collection during a big
    migration stalls the event loop (see ``bench/``).

    ``backups`` (``True``/``False``, or a :class:`~nextcord_ormar.migrations.Backups`) is
    the backup policy of every migration engine made for this bot (``/migrate``): by
    default a SQLite file is backed up before each write and a server database is not.

    ``migrations`` is the start-up policy (see :mod:`nextcord_ormar.startup`): ``"off"``
    (default), ``"check"`` (hold back cogs whose database is behind their migrations or
    whose models differ) or ``"apply"`` (apply pending migrations first). When not given it
    is read from ``$NXO_MIGRATIONS``, then from ``migrations`` in ``nxalembic.ini``.
    ``migrations_allow_destructive`` lets ``apply`` run a migration that drops data;
    ``migrations_message`` is what a held cog's commands answer; ``close()`` waits up to
    ``migrations_close_timeout`` seconds for a running start-up migration, which waits up to
    ``migrations_lock_timeout`` seconds for another process's migration.
    """

    def __init__(
        self,
        *args: Any,
        database_url: str | None = None,
        database_options: dict[str, Any] | None = None,
        freeze_gc: bool = True,
        backups: Backups | bool | None = None,
        migrations: str | None = None,
        migrations_allow_destructive: bool = False,
        migrations_message: str | None = None,
        migrations_close_timeout: float = 60.0,
        migrations_lock_timeout: float = 300.0,
        **kwargs: Any,
    ) -> None:
        policy = resolve_policy(migrations)
        super().__init__(*args, **kwargs)
        self._startup = StartupGate(
            self,
            policy,
            allow_destructive=migrations_allow_destructive,
            message=migrations_message,
            close_timeout=migrations_close_timeout,
            lock_timeout=migrations_lock_timeout,
        )
        self._freeze_gc = freeze_gc
        #: The backup policy engines made for this bot use (see ``MigrationEngine(backups=)``).
        self.backups = backups
        url = database_url or os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
        self._database_options = dict(database_options or {})
        database.configure(url, **self._database_options)
        self._database_url = database.sa_url

    # -- the database -------------------------------------------------------------------

    @property
    def database(self) -> BotDatabase:
        """The connection all app models use (an :class:`ormar.DatabaseConnection`)."""
        return database

    @property
    def database_url(self) -> str:
        """The database URL with its password masked."""
        return mask_url(self._database_url)

    @property
    def registry(self) -> Registry:
        """The registry of apps (all apps of this process)."""
        return registry

    def set_database_url(self, url: str, **options: Any) -> None:
        """Point the bot at another database before it connects (the CLI's ``--database-url``)."""
        self._database_options = dict(options or self._database_options)
        database.configure(url, **self._database_options)
        self._database_url = database.sa_url

    async def connect_database(self) -> None:
        """Connect the database if it is not yet connected, and check it answers."""
        # Another bot of this process may have pointed the shared connection elsewhere.
        database.configure(self._database_url, **self._database_options)
        await database.connect_checked()

    async def disconnect_database(self) -> None:
        """Dispose of the engine; safe to call twice."""
        await database.disconnect_logged()

    # -- apps of the loaded cogs -----------------------------------------------------------

    def cog_apps(self) -> dict[str, OrmarApp]:
        """The loaded cogs that own an app, as ``{cog name: app}``."""
        cogs: dict[str, Any] = getattr(self, "cogs", {})
        extensions: dict[str, Any] = getattr(self, "extensions", {})
        found: dict[str, OrmarApp] = {}
        for name, cog in cogs.items():
            app = registry.app_for_cog(cog, extensions)
            if app is not None:
                found[name] = app
        return found

    # -- the start-up policy (see nextcord_ormar.startup) ----------------------------------

    @property
    def migrations(self) -> str:
        """The start-up policy: ``"off"``, ``"check"`` or ``"apply"``."""
        return self._startup.policy

    @property
    def held_cogs(self) -> dict[str, str]:
        """The cogs held back by the start-up policy: ``{cog name: why}``."""
        return {name: held.reason for name, held in self._startup.held.items()}

    async def release_migrated_cogs(self) -> list[str]:
        """Re-check the held cogs; release (and return the names of) those now migrated."""
        return (await self._startup.recheck())[0]

    async def recheck_cogs(self) -> tuple[list[str], list[str]]:
        """Re-check every loaded cog with an app (after a downgrade or a stamp): release the
        held ones now current, hold those now behind; ``(released, newly held)``."""
        return await self._startup.recheck(everything=True)

    def add_cog(self, cog: Any, **kwargs: Any) -> None:
        """Add a cog; after start-up (policy on) it is held until its app is checked."""
        super().add_cog(cog, **kwargs)  # type: ignore[misc]
        self._startup.cog_added(cog)

    def remove_cog(self, name: str) -> Any:
        removed = super().remove_cog(name)  # type: ignore[misc]
        self._startup.forget(name)
        return removed

    def dispatch(self, event_name: str, *args: Any, **kwargs: Any) -> None:
        self._startup.dispatched(event_name)  # a held cog's missed on_ready runs on release
        super().dispatch(event_name, *args, **kwargs)  # type: ignore[misc]

    async def process_application_commands(self, interaction: Any) -> None:
        """A held cog's commands get the maintenance reply; the rest run as usual."""
        if not await self._startup.intercept(interaction):
            await super().process_application_commands(interaction)  # type: ignore[misc]

    async def invoke(self, ctx: Any) -> None:
        """Prefix commands of a held cog get the maintenance reply too."""
        if ctx.command is not None and self._startup.held_for(ctx.cog) is not None:
            await ctx.send(self._startup.message)
            return
        await super().invoke(ctx)  # type: ignore[misc]

    # -- lifecycle ----------------------------------------------------------------------

    async def login(self, token: str) -> None:
        """Connect the database, then log in to Discord."""
        await self.connect_database()
        if self._freeze_gc and self._startup.on:
            # Before the start-up check too: the check's own work triggers a full collection,
            # which otherwise rescans all of the below (40-50 ms of a 40-cog check).
            _freeze_what_lives()
        await self._startup.start()  # the start-up policy, before anything reaches Discord
        if self._startup.closing:  # close() came while it ran
            return
        if self._freeze_gc:
            _freeze_what_lives()
        await super().login(token)  # type: ignore[misc]
        self._startup.after_login()

    async def connect(self, *args: Any, **kwargs: Any) -> None:
        """Connect to the gateway, unless ``close()`` came during the start-up migration."""
        if not self._startup.closing:
            await super().connect(*args, **kwargs)  # type: ignore[misc]

    async def close(self) -> None:
        """Close the Discord side (unloading cogs), then disconnect the database last."""
        await self._startup.wait_idle()
        try:
            await super().close()  # type: ignore[misc]
        finally:
            await self.disconnect_database()


class Bot(DatabaseBotMixin, commands.Bot):  # type: ignore[misc]
    """A :class:`nextcord.ext.commands.Bot` whose cogs' ormar models use ``database_url``.

    ``Bot(database_url="sqlite:///bot.db", intents=...)``; ``command_prefix`` is optional
    (slash-only bots need none). Every other keyword goes to nextcord.
    """


class AutoShardedBot(DatabaseBotMixin, commands.AutoShardedBot):  # type: ignore[misc]
    """The sharded twin of :class:`Bot`, with the same database integration."""


def _freeze_what_lives() -> None:
    """Collect, then move what is left out of the garbage collector's reach.

    Everything imported so far (nextcord, ormar, SQLAlchemy, Alembic, the cogs) lives as long
    as the bot. Frozen, it is no longer rescanned by each full collection, which migration
    work in a worker thread triggers and which holds the GIL (and so the gateway heartbeat)
    for 100+ ms over a heap that size. Measured in bench/.
    """
    gc.collect()
    gc.freeze()
