"""nextcord-ormar: per-cog ormar models and per-cog Alembic migrations for nextcord bots.

Each cog declares an :class:`OrmarApp`; its models (``AppModel`` subclasses, or plain
``ormar.Model`` subclasses with ``ormar_config = app.config()``) get the app's table
prefix and their own migration history. :class:`Bot` owns the database connection.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .apps import AppConfig, AppModel, OrmarApp, Registry, metadata, registry
from .database import BotDatabase, database, mask_url, normalize_url
from .errors import (
    AppConflictError,
    AppNameError,
    DatabaseConnectError,
    DatabaseNotConfiguredError,
    DatabaseURLError,
    DriverMissingError,
    NextcordOrmarError,
    UnknownAppError,
)

if TYPE_CHECKING:
    from .bot import AutoShardedBot, Bot

__version__ = "0.4.0.dev0"

__all__ = [
    "AppConfig",
    "AppConflictError",
    "AppModel",
    "AppNameError",
    "AutoShardedBot",
    "Bot",
    "BotDatabase",
    "DatabaseConnectError",
    "DatabaseNotConfiguredError",
    "DatabaseURLError",
    "DriverMissingError",
    "NextcordOrmarError",
    "OrmarApp",
    "Registry",
    "UnknownAppError",
    "__version__",
    "database",
    "mask_url",
    "metadata",
    "normalize_url",
    "registry",
]


def __getattr__(name: str) -> Any:
    """``Bot`` and ``AutoShardedBot`` import nextcord: only when asked for (``nxalembic``'s
    read-only commands never are)."""
    if name in ("Bot", "AutoShardedBot"):
        from . import bot

        return getattr(bot, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
