"""nextcord-ormar: per-cog ormar models and per-cog Alembic migrations for nextcord bots.

Each cog declares an :class:`OrmarApp`; its models (``AppModel`` subclasses, or plain
``ormar.Model`` subclasses with ``ormar_config = app.config()``) get the app's table
prefix and their own migration history. :class:`Bot` owns the database connection.
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING, Any

from .apps import OrmarApp, Registry, metadata
from .connection import normalize_url
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
from .redact import mask_url

if TYPE_CHECKING:
    from .apps import AppConfig, AppModel, registry
    from .bot import AutoShardedBot, Bot
    from .database import BotDatabase, database

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


#: Where the names that import nextcord or ormar live: they load when first asked for
#: (``nxalembic``'s read-only commands, answering from a recorded bot, ask for none).
_LAZY = {
    "Bot": "bot",
    "AutoShardedBot": "bot",
    "BotDatabase": "database",
    "database": "database",
    "AppConfig": "apps",
    "AppModel": "apps",
    "registry": "apps",
}


def __getattr__(name: str) -> Any:
    """``Bot`` and ``AutoShardedBot`` import nextcord, the models and the database ormar:
    only when asked for."""
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        if name not in ("Bot", "AutoShardedBot"):
            globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _Package(types.ModuleType):
    def __setattr__(self, name: str, value: Any) -> None:
        # Loading the submodule ``nextcord_ormar.database`` would bind its name here to the
        # module; ``nextcord_ormar.database`` is the shared connection (as it always was).
        if name == "database" and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
