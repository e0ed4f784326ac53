"""Every exception nextcord-ormar raises on purpose, and the helpers that turn errors into text.

All derive from :class:`NextcordOrmarError`, so a bot or a tool can catch them in one place
and show their message as it is: messages are written for the person running the bot and
never contain a database credential. Each class says whether it is about the user's input
or set-up (:attr:`~NextcordOrmarError.usage` is true: fix the command or the configuration)
or a failure of the work itself; the faces decide from that alone how to answer (the
``nxalembic`` exit status 2 or 1). (The local Discord of :mod:`nextcord_ormar.testing`
keeps its own errors: they are Discord's, not the library's.)
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AppConflictError",
    "AppNameError",
    "BackupError",
    "ConfigError",
    "DatabaseConnectError",
    "DatabaseNotConfiguredError",
    "DatabaseURLError",
    "DriverMissingError",
    "InvalidMessageError",
    "LegacyDatabaseError",
    "LockTimeoutError",
    "MigrationError",
    "NextcordOrmarError",
    "NotConfirmedError",
    "PlanChangedError",
    "ReplayError",
    "ScriptCheckError",
    "UnknownAppError",
    "UnknownCogError",
    "UnknownRevisionError",
    "UsageError",
    "first_line",
]


def first_line(error: BaseException | str, limit: int = 500) -> str:
    """The first non-blank line of an error's message (drivers append hints and links below it).

    An exception with an empty message gives its class name.
    """
    text = error if isinstance(error, str) else str(error)
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return "" if isinstance(error, str) else type(error).__name__
    return lines[0][:limit]


class NextcordOrmarError(Exception):
    """Base class of every error nextcord-ormar raises on purpose."""

    #: True when the input or the set-up is wrong (the user fixes the command or the
    #: configuration); False when the work itself failed.
    usage: ClassVar[bool] = False


# -- the user's input or set-up ----------------------------------------------------------


class UsageError(NextcordOrmarError):
    """A command line that cannot be used; the message is one line for the user."""

    usage = True


class ConfigError(NextcordOrmarError):
    """nxalembic cannot find or use the bot: the message says what to fix."""

    usage = True


class AppNameError(NextcordOrmarError, ValueError):
    """An app name that cannot become a table prefix or a version-table suffix."""

    usage = True


class AppConflictError(NextcordOrmarError):
    """Two different modules tried to create an app with the same name."""

    usage = True


class UnknownAppError(NextcordOrmarError, LookupError):
    """An app or cog name that the registry does not know."""

    usage = True


class UnknownCogError(NextcordOrmarError, LookupError):
    """A ``cog`` option of ``/migrate`` that names no loaded cog with models."""

    usage = True


class DatabaseURLError(NextcordOrmarError, ValueError):
    """A database URL that cannot be parsed or names an unsupported database."""

    usage = True


class DriverMissingError(NextcordOrmarError, ImportError):
    """The async driver a database URL needs is not installed."""

    usage = True


class DatabaseNotConfiguredError(NextcordOrmarError, RuntimeError):
    """A model was used before any :class:`~nextcord_ormar.Bot` gave the database a URL."""

    usage = True


class InvalidMessageError(NextcordOrmarError, ValueError):
    """A migration message that cannot be used (too long)."""

    usage = True


# -- failures ------------------------------------------------------------------------------


class DatabaseConnectError(NextcordOrmarError, ConnectionError):
    """The bot could not reach its database at start-up."""


class MigrationError(NextcordOrmarError):
    """A migration command could not be carried out; the message says why."""


class UnknownRevisionError(MigrationError, LookupError):
    """A revision name that the app's history does not have."""

    usage = True


class ReplayError(MigrationError):
    """The history could not be replayed (a script failed, or no scratch database)."""


class LegacyDatabaseError(MigrationError):
    """An app still has nextcord-ormar 0.3's history (``alembic.<app>``, ``"<app>.…"`` tables).

    ``make`` and ``upgrade`` refuse it, changing nothing, until ``nxalembic adopt`` carries
    it over; the message names that command.
    """


class LockTimeoutError(MigrationError, TimeoutError):
    """Another process (or bot) is migrating this database; it did not finish in time."""


class NotConfirmedError(MigrationError):
    """A step that needs a yes (it drops data, it undoes migrations) was not confirmed.

    Nothing was changed. The message says how to confirm (``--yes`` on the command line).
    """


class PlanChangedError(MigrationError):
    """The database moved between the question and the work: what was confirmed is not what
    would run. Nothing was changed."""


class ScriptCheckError(MigrationError):
    """A generated script would fail when run (it does not compile, or uses a name it never
    imports); the message names what is missing, and the script is not kept."""


class BackupError(MigrationError):
    """A backup could not be made (or restored); the write it guarded did not start."""
