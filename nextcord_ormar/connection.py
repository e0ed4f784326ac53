"""Database URLs and the checked connect, without ormar.

:mod:`.database` builds the bot's ormar connection on these; ``nxalembic``'s read-only
commands, answering from a recorded bot (:mod:`.nxalembic.recall`), use
:class:`PlainDatabase` and so never import ormar or pydantic.

Users of the original library wrote URLs in the ``databases`` package's style
(``sqlite:///bot.db``, ``postgresql://...``, ``mysql://...``). Current ormar runs on a
SQLAlchemy :class:`~sqlalchemy.ext.asyncio.AsyncEngine`, which needs an async driver named
in the URL, so :func:`normalize_url` maps the old spellings onto the async drivers and
says which extra to install when a driver is missing.
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from .errors import (
    DatabaseConnectError,
    DatabaseNotConfiguredError,
    DatabaseURLError,
    DriverMissingError,
    first_line,
)
from .redact import mask_url, repair_url, scrub

__all__ = [
    "ASYNC_DRIVERS",
    "CheckedConnect",
    "DriverInfo",
    "PlainDatabase",
    "default_engine_options",
    "normalize_url",
    "scrub_password",
]

log = logging.getLogger("nextcord_ormar")


@dataclass(frozen=True)
class DriverInfo:
    """An async driver SQLAlchemy can use, the module it imports and the extra that installs it."""

    dialect: str
    driver: str
    module: str
    extra: str


#: The async drivers nextcord-ormar knows, by (dialect, driver).
ASYNC_DRIVERS: dict[tuple[str, str], DriverInfo] = {
    ("sqlite", "aiosqlite"): DriverInfo("sqlite", "aiosqlite", "aiosqlite", "sqlite"),
    ("postgresql", "asyncpg"): DriverInfo("postgresql", "asyncpg", "asyncpg", "postgresql"),
    ("postgresql", "psycopg"): DriverInfo("postgresql", "psycopg", "psycopg", "postgresql"),
    ("mysql", "aiomysql"): DriverInfo("mysql", "aiomysql", "aiomysql", "mysql"),
    ("mysql", "asyncmy"): DriverInfo("mysql", "asyncmy", "asyncmy", "mysql"),
    ("mariadb", "aiomysql"): DriverInfo("mariadb", "aiomysql", "aiomysql", "mysql"),
    ("mariadb", "asyncmy"): DriverInfo("mariadb", "asyncmy", "asyncmy", "mysql"),
}

# The driver a URL without one (or with a synchronous one) is given.
_DEFAULT_DRIVER = {
    "sqlite": "aiosqlite",
    "postgresql": "asyncpg",
    "mysql": "aiomysql",
    "mariadb": "aiomysql",
}

_DIALECT_ALIASES = {"postgres": "postgresql", "pgsql": "postgresql", "sqlite3": "sqlite"}

# Synchronous drivers that old configs name; they are swapped for the async default.
_SYNC_DRIVERS = {"pysqlite", "psycopg2", "pg8000", "pymysql", "mysqldb", "mysqlconnector"}


def scrub_password(text: str, url: URL | str | None) -> str:
    """``text`` without ``url``'s credentials, in case a driver echoed them (see :mod:`.redact`)."""
    return scrub(text, url)


def normalize_url(url: str | URL, *, check_driver: bool = True) -> URL:
    """Turn a ``databases``-style or SQLAlchemy URL into one with an async driver.

    ``postgres://`` and ``postgresql://`` become ``postgresql+asyncpg://``, ``mysql://``
    becomes ``mysql+aiomysql://``, ``sqlite:///x.db`` becomes ``sqlite+aiosqlite:///x.db``;
    URLs that already name an async driver are kept. With ``check_driver`` the driver's
    module must be importable, otherwise :class:`DriverMissingError` names the extra.
    """
    if isinstance(url, str):
        text = url.strip()
        if not text:
            raise DatabaseURLError("the database URL is empty")
        try:
            parsed = make_url(repair_url(text))
        except ArgumentError:
            raise DatabaseURLError(
                f"could not parse the database URL {mask_url(text)!r}; expected something like "
                "'sqlite:///bot.db' or 'postgresql://user:password@host/dbname'"
            ) from None
    else:
        parsed = url
    backend, _, driver = parsed.drivername.partition("+")
    backend = _DIALECT_ALIASES.get(backend, backend)
    if backend not in _DEFAULT_DRIVER:
        raise DatabaseURLError(
            f"unsupported database {backend!r} in {mask_url(parsed)}; nextcord-ormar supports "
            "sqlite, postgresql and mysql/mariadb"
        )
    if not driver or driver in _SYNC_DRIVERS:
        driver = _DEFAULT_DRIVER[backend]
    info = ASYNC_DRIVERS.get((backend, driver))
    if info is None:
        known = ", ".join(f"{d}+{drv}" for d, drv in ASYNC_DRIVERS if d == backend)
        raise DatabaseURLError(
            f"{backend}+{driver} is not an async driver nextcord-ormar can use; "
            f"use one of: {known} (or plain {backend}://)"
        )
    if check_driver and importlib.util.find_spec(info.module) is None:
        raise DriverMissingError(
            f"the {backend} driver {info.module!r} is not installed; "
            f"install it with: pip install 'nextcord-ormar[{info.extra}]'"
        )
    return parsed.set(drivername=f"{backend}+{driver}")


def default_engine_options(url: URL) -> dict[str, Any]:
    """Pool settings that fit the database: an in-memory SQLite database has a single connection."""
    if url.get_backend_name() == "sqlite":
        if url.database in (None, "", ":memory:") or "mode=memory" in str(url):
            return {"poolclass": sqlalchemy.pool.StaticPool}
        return {}
    return {"pool_size": 5, "max_overflow": 10, "pool_pre_ping": True}


class _Connectable(Protocol):
    @property
    def is_connected(self) -> bool: ...
    @property
    def url(self) -> str: ...
    @property
    def sa_url(self) -> URL: ...
    async def connect(self) -> None: ...
    async def disconnect(self) -> None: ...
    async def ping(self) -> None: ...


class CheckedConnect:
    """The connect and disconnect both the bot's database and :class:`PlainDatabase` use:
    connect, check the database answers, and say so (credentials masked)."""

    async def connect_checked(self: _Connectable) -> None:
        """Connect if not connected yet and check that the database answers; a clear error
        (credentials masked) and nothing left open if it does not."""
        if self.is_connected:
            return
        await self.connect()
        try:
            await self.ping()
        except Exception as exc:
            await self.disconnect()
            raise DatabaseConnectError(
                f"could not connect to the database {self.url}: "
                f"{type(exc).__name__}: {scrub(first_line(exc), self.sa_url)}"
            ) from None
        log.info("database connected: %s", self.url)

    async def disconnect_logged(self: _Connectable) -> None:
        """Dispose of the engine if connected (safe to call twice)."""
        if self.is_connected:
            await self.disconnect()
            log.info("database disconnected: %s", self.url)


async def ping_engine(engine: AsyncEngine) -> None:
    """Open one connection and run ``SELECT 1``, so a wrong URL fails early and clearly."""
    async with engine.connect() as conn:
        await conn.execute(sqlalchemy.text("SELECT 1"))


class PlainDatabase(CheckedConnect):
    """A URL and engine options, with the engine the migration engine's runner may need:
    what a bot's database is to the engine, without ormar (nxalembic's recorded bot)."""

    def __init__(self, url: str | URL, **engine_options: Any) -> None:
        self._sa_url = normalize_url(url)
        self._options = {**default_engine_options(self._sa_url), **engine_options}
        self._options.pop("force_rollback", None)
        self._engine: AsyncEngine | None = None

    @property
    def sa_url(self) -> URL:
        """The normalised SQLAlchemy URL, password included (never print it)."""
        return self._sa_url

    @property
    def url(self) -> str:
        """The URL with its password masked."""
        return mask_url(self._sa_url)

    @property
    def configured(self) -> bool:
        return True

    @property
    def dialect_name(self) -> str:
        """``sqlite``, ``postgresql``, ``mysql`` or ``mariadb``."""
        return self._sa_url.get_backend_name()

    @property
    def engine_options(self) -> dict[str, Any]:
        """The options the engine is (or will be) created with."""
        return dict(self._options)

    @property
    def is_connected(self) -> bool:
        return self._engine is not None

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise DatabaseNotConfiguredError("the database is not connected")
        return self._engine

    def configure(self, url: str | URL, **engine_options: Any) -> None:
        """Point at another URL (``--database-url``); allowed while not connected."""
        if self._engine is not None:
            raise DatabaseURLError(f"the database is connected to {self.url}")
        self.__init__(url, **engine_options)  # type: ignore[misc]

    async def connect(self) -> None:
        if self._engine is None:
            self._engine = create_async_engine(self._sa_url, **self._options)

    async def disconnect(self) -> None:
        if self._engine is not None:
            engine, self._engine = self._engine, None
            await engine.dispose()

    async def ping(self) -> None:
        await ping_engine(self.engine)

    def __repr__(self) -> str:
        state = "connected" if self.is_connected else "disconnected"
        return f"<PlainDatabase {self.url} {state}>"
