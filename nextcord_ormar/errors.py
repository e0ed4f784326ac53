"""Exceptions raised by nextcord-ormar.

Every error the library raises on purpose derives from :class:`NextcordOrmarError`, so a bot
or a tool can catch them in one place and show their message as it is: messages are written
for the person running the bot and never contain a database password.
"""

from __future__ import annotations

__all__ = [
    "AppConflictError",
    "AppNameError",
    "DatabaseNotConfiguredError",
    "DatabaseURLError",
    "DriverMissingError",
    "NextcordOrmarError",
    "UnknownAppError",
]


def first_line(exc: BaseException) -> str:
    """The first line of an error's message (drivers append hints and links below it)."""
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:500]


class NextcordOrmarError(Exception):
    """Base class of every error nextcord-ormar raises on purpose."""


class AppNameError(NextcordOrmarError, ValueError):
    """An app name that cannot become a table prefix or a version-table suffix."""


class AppConflictError(NextcordOrmarError):
    """Two different modules tried to create an app with the same name."""


class UnknownAppError(NextcordOrmarError, LookupError):
    """An app or cog name that the registry does not know."""


class DatabaseURLError(NextcordOrmarError, ValueError):
    """A database URL that cannot be parsed or names an unsupported database."""


class DriverMissingError(NextcordOrmarError, ImportError):
    """The async driver a database URL needs is not installed."""


class DatabaseNotConfiguredError(NextcordOrmarError, RuntimeError):
    """A model was used before any :class:`~nextcord_ormar.Bot` gave the database a URL."""
