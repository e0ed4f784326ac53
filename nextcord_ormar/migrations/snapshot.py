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
from .enum_compare import ENUM_NAMES, enum_name

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
            owned=registry.owned_table_names() & names,
            **tables,
        )

    @functools.cached_property
    def metadata(self) -> sqlalchemy.MetaData:
        """The models' tables for autogenerate: the shared metadata (:meth:`live`), or a
        private copy, which later reloads leave alone, of the app's own tables and every
        table their foreign keys lead to (:meth:`take`).

        Only those: Alembic compares nothing else of this app (its filters go by table
        name), and a foreign key needs its target beside it (Alembic and SQLAlchemy resolve
        it when sorting and comparing). A copy of every app's tables made each operation
        leave thousands of objects in cycles for the collector (about 20,000 for one app of
        a bot with 40 cogs of 8 tables, and again for each app an upgrade walks): the full
        collections that freed them held the GIL, and the bot's loop, for 30-60 ms each
        (bench/README, issue 17 round 3). What the other tables say that this app's
        comparison reads, the names of the enum types they use, is kept in the copy's
        ``info`` (:data:`.enum_compare.ENUM_NAMES`).
        """
        if self.shared is not None:
            return self.shared
        copy = sqlalchemy.MetaData(naming_convention=self.naming_convention)
        for table in _with_targets(
            [t for t in self.tables if t.name in self.table_names], self.tables
        ):
            table.to_metadata(copy)
        copy.info[ENUM_NAMES] = frozenset(
            name for t in self.tables for c in t.columns if (name := enum_name(c.type))
        )
        return copy


def _with_targets(
    own: list[sqlalchemy.Table], every: tuple[sqlalchemy.Table, ...]
) -> list[sqlalchemy.Table]:
    """``own`` and the tables their foreign keys lead to, and theirs in turn, in the order
    of ``every`` (the shared metadata's)."""
    by_key = {table.key: table for table in every}
    wanted = {table.key for table in own}
    todo = list(own)
    while todo:
        for fk in todo.pop().foreign_keys:
            key = fk.target_fullname.rpartition(".")[0]
            if key not in wanted and key in by_key:
                wanted.add(key)
                todo.append(by_key[key])
    return [table for table in every if table.key in wanted]


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
