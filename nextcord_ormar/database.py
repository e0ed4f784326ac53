"""The one connection every app model shares (URLs and drivers: :mod:`.connection`).

Models are declared at import time of a cog module, often before any bot exists, so they
all point at one :class:`BotDatabase` (:data:`database`) whose URL the bot fills in later.
"""

from __future__ import annotations

from typing import Any

import ormar
from sqlalchemy.engine import URL

from .connection import (
    ASYNC_DRIVERS,
    CheckedConnect,
    DriverInfo,
    default_engine_options,
    normalize_url,
    ping_engine,
    scrub_password,
)
from .errors import DatabaseNotConfiguredError, DatabaseURLError
from .redact import mask_url

__all__ = [
    "ASYNC_DRIVERS",
    "BotDatabase",
    "DriverInfo",
    "database",
    "mask_url",
    "normalize_url",
    "scrub_password",
]


class BotDatabase(ormar.DatabaseConnection, CheckedConnect):
    """The ormar connection every app model uses; the bot gives it its URL.

    It is an :class:`ormar.DatabaseConnection`, so everything ormar does with a database
    works on it. Its :attr:`url` is the masked form; :attr:`sa_url` is the full URL for
    code that must open its own connection (never print it).
    """

    def __init__(self) -> None:
        super().__init__("")
        self._sa_url: URL | None = None
        self._options: dict[str, Any] = {}

    @property
    def configured(self) -> bool:
        """Whether a URL has been given (by a bot or by :meth:`configure`)."""
        return self._sa_url is not None

    @property
    def sa_url(self) -> URL:
        """The normalised SQLAlchemy URL, password included."""
        if self._sa_url is None:
            raise DatabaseNotConfiguredError(
                "no database is configured yet: create nextcord_ormar.Bot(database_url=...) "
                "before using the models"
            )
        return self._sa_url

    @property
    def url(self) -> str:
        """The URL with its password masked."""
        return mask_url(self._sa_url) if self._sa_url is not None else "<not configured>"

    @property
    def dialect_name(self) -> str:
        """``sqlite``, ``postgresql``, ``mysql`` or ``mariadb``."""
        return self.sa_url.get_backend_name()

    @property
    def engine_options(self) -> dict[str, Any]:
        """The options the engine is (or will be) created with."""
        return dict(self._options)

    def configure(self, url: str | URL, **engine_options: Any) -> None:
        """Give the database its URL; allowed while it is not connected."""
        new_url = normalize_url(url)
        if self.is_connected:
            if self._sa_url is not None and new_url == self._sa_url:
                return
            raise DatabaseURLError(
                f"the database is connected to {self.url}; disconnect it before pointing it at "
                f"{mask_url(new_url)} (one database per process)"
            )
        self._force_rollback = bool(engine_options.pop("force_rollback", False))
        self._sa_url = new_url
        self._url = new_url.render_as_string(hide_password=False)  # for create_async_engine
        self._options = {**default_engine_options(new_url), **engine_options}

    async def connect(self) -> None:
        """Create the engine (SQLAlchemy connects lazily, on first use)."""
        self.sa_url  # noqa: B018 - raises a clear error when not configured
        await super().connect()

    async def ping(self) -> None:
        """Open one connection and run ``SELECT 1``, so a wrong URL fails early and clearly."""
        await ping_engine(self.engine)

    def __repr__(self) -> str:
        state = "connected" if self.is_connected else "disconnected"
        return f"<BotDatabase {self.url} {state}>"


#: The process-wide connection shared by every :class:`~nextcord_ormar.OrmarApp`'s models.
database = BotDatabase()
