"""An app as it stood at one moment, so that one operation sees one version of it.

``bot.reload_extension`` runs a cog's module again on the bot's loop: ``create_app`` empties
the app (its tables leave the shared metadata), then the module's classes fill it again. Work
in a worker thread reading the live app in between would see an app without tables, and
autogenerate would drop them. :meth:`AppSnapshot.take` keeps what autogenerate reads (the
app's table names, the tables every app owns, the shared metadata's table objects, copied
into a private metadata in the worker) and :func:`on_caller_thread` takes it on the bot's
loop, where no reload can be half done.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy

from ..apps import OrmarApp

__all__ = ["AppSnapshot", "on_caller_thread"]

T = TypeVar("T")


@dataclass(frozen=True)
class AppSnapshot:
    """What the engine reads of an app: names, tables, the folder of its scripts."""

    name: str
    version_table: str
    folder: Path
    table_names: frozenset[str]
    #: The tables some loaded app (this one or another) has a model for.
    owned: frozenset[str]
    #: Every app's tables as the shared metadata held them (see :meth:`take`).
    tables: tuple[sqlalchemy.Table, ...] = ()
    naming_convention: Any = None
    #: The shared metadata itself, for a :meth:`live` view.
    shared: sqlalchemy.MetaData | None = None

    @classmethod
    def live(cls, app: OrmarApp) -> AppSnapshot:
        """The app's names now, over the shared metadata itself (no copy; for work that does
        not compare models, or reads them once)."""
        return cls._of(app, shared=app.metadata)

    @classmethod
    def take(cls, app: OrmarApp) -> AppSnapshot:
        """The app now. Cheap: it keeps the metadata's table objects (a reload replaces them
        and never changes them); :attr:`metadata` copies them when first asked, wherever
        that is. Take it where no reload can be half done (see :func:`on_caller_thread`)."""
        shared = app.metadata
        return cls._of(
            app, tables=tuple(shared.tables.values()), naming_convention=shared.naming_convention
        )

    @classmethod
    def _of(cls, app: OrmarApp, **tables: Any) -> AppSnapshot:
        registry = app._registry  # the registry the app belongs to
        names = {table.name for table in app.metadata.tables.values()}
        return cls(
            name=app.name,
            version_table=app.version_table,
            folder=app.migrations_path,
            table_names=frozenset(app.table_names),
            owned=frozenset(n for n in names if registry.table_owner(n) is not None),
            **tables,
        )

    @functools.cached_property
    def metadata(self) -> sqlalchemy.MetaData:
        """All apps' tables for autogenerate: the shared metadata (:meth:`live`) or a private
        copy of the tables :meth:`take` kept, which later reloads leave alone."""
        if self.shared is not None:
            return self.shared
        copy = sqlalchemy.MetaData(naming_convention=self.naming_convention)
        for table in self.tables:
            table.to_metadata(copy)
        return copy


def on_caller_thread() -> Callable[[Callable[[], T]], T]:
    """A function that runs ``fn()`` on the thread calling this now (the bot's loop), also
    when it is called from a worker thread, and returns what ``fn`` returns.

    Call it on the event loop before handing work to a worker; the loop must keep running
    (the work is awaited), as it does for every engine operation.
    """
    loop = asyncio.get_running_loop()
    home = threading.get_ident()

    def call(fn: Callable[[], T]) -> T:
        if threading.get_ident() == home:
            return fn()

        async def there() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(there(), loop).result()

    return call
