"""Find the user's bot: read ``nxalembic.ini``, import the bot's module, check the object.

Importing the module must not log in to Discord: a module that calls ``bot.run()`` at
import (instead of under ``if __name__ == "__main__":``) is stopped with a clear error.
"""

from __future__ import annotations

import configparser
import contextlib
import importlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, NextcordOrmarError, first_line

if TYPE_CHECKING:
    from ..bot import DatabaseBotMixin

__all__ = ["DEFAULT_CONFIG", "SECTION", "ConfigError", "ProjectConfig", "load_bot", "read_config"]

#: The file nxalembic reads from the current directory when ``-c`` is not given.
DEFAULT_CONFIG = "nxalembic.ini"
#: The section of the ini file that holds nxalembic's keys.
SECTION = "nxalembic"


@dataclass(frozen=True)
class ProjectConfig:
    """What ``nxalembic.ini`` says: where the bot is (and where to replay histories)."""

    path: Path
    module: str
    bot: str
    #: The server ``--replay`` creates its scratch database on (default: the bot's own).
    replay_url: str | None = None
    #: Whether read-only commands may use what the last import of the bot recorded
    #: (``cache = no`` turns it off; see :mod:`.recall`).
    cache: bool = True


def read_config(path: str | os.PathLike[str] | None = None) -> ProjectConfig:
    """Read ``[nxalembic]`` from ``path`` (default: ``./nxalembic.ini``)."""
    explicit = path is not None
    file = Path(path) if path is not None else Path.cwd() / DEFAULT_CONFIG
    if not file.is_file():
        if explicit:
            raise ConfigError(f"config file {str(file)!r} not found")
        raise ConfigError(
            f"no {DEFAULT_CONFIG} in {Path.cwd()}; create one with a [{SECTION}] section "
            "naming your bot's module and object (module = mybot, bot = bot), "
            "or pass -c FILE"
        )
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(file, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {file}: {first_line(exc)}") from None
    if not parser.has_section(SECTION):
        raise ConfigError(
            f"{file} has no [{SECTION}] section; add one with 'module' (the import path of "
            "your bot's main script) and 'bot' (the name of the nextcord_ormar.Bot in it)"
        )
    values = {key: parser.get(SECTION, key, fallback="").strip() for key in ("module", "bot")}
    missing = [key for key, value in values.items() if not value]
    if missing:
        what = {
            "module": "module = the import path of your bot's main script, e.g. mybot",
            "bot": "bot = the name of the nextcord_ormar.Bot object in it, e.g. bot",
        }
        keys = " and ".join(repr(k) for k in missing)
        hints = "; ".join(what[k] for k in missing)
        raise ConfigError(f"[{SECTION}] in {file} lacks {keys} ({hints})")
    replay_url = parser.get(SECTION, "replay_url", fallback="").strip() or None
    try:
        cache = parser.getboolean(SECTION, "cache", fallback=True)
    except ValueError:
        raise ConfigError(f"[{SECTION}] in {file}: 'cache' must be yes or no") from None
    return ProjectConfig(file, values["module"], values["bot"], replay_url, cache)


class _LoginAtImport(ConfigError):
    pass


@contextlib.contextmanager
def _no_discord_login() -> Iterator[None]:
    """Refuse ``run``/``start``/``login`` of any nextcord client while the bot module imports."""
    import nextcord

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise _LoginAtImport(
            "the bot module starts the bot when imported; put bot.run(...) under "
            "'if __name__ == \"__main__\":' so nxalembic can import it without logging in"
        )

    client: Any = nextcord.Client
    saved = {name: client.__dict__[name] for name in ("run", "start", "login")}
    for name in saved:
        setattr(client, name, refuse)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(client, name, value)


def _import_error(module: str, exc: BaseException) -> ConfigError:
    if isinstance(exc, ModuleNotFoundError) and exc.name is not None:
        missing = exc.name
        if module == missing or module.startswith(missing + "."):
            return ConfigError(
                f"cannot import bot module {module!r}: no module named {missing!r} "
                f"(run nxalembic from your bot's folder, or fix 'module' in {DEFAULT_CONFIG})"
            )
    detail = first_line(str(exc))
    what = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    return ConfigError(f"importing bot module {module!r} failed: {what}")


def _search_path(config: ProjectConfig) -> list[str]:
    """The current directory, then the config file's folder (if different)."""
    places = [str(Path.cwd())]
    folder = str(config.path.resolve().parent)
    if folder not in places:
        places.append(folder)
    return places


def load_bot(config: ProjectConfig) -> DatabaseBotMixin:
    """Import ``config.module`` and return its ``config.bot``, a nextcord-ormar bot.

    The import loads the bot's extensions (as the module does at import), which creates
    the cogs' apps in the registry. Nothing connects to Discord or to the database.
    """
    from .. import bot as bot_module  # nextcord: only when the bot is really imported

    for place in reversed(_search_path(config)):
        if place not in sys.path:
            sys.path.insert(0, place)
    try:
        with _no_discord_login():
            module = importlib.import_module(config.module)
    except _LoginAtImport as exc:
        raise ConfigError(str(exc)) from None
    except NextcordOrmarError:
        raise
    except (Exception, SystemExit) as exc:
        raise _import_error(config.module, exc) from exc
    try:
        obj = getattr(module, config.bot)
    except AttributeError:
        raise ConfigError(
            f"module {config.module!r} has no {config.bot!r}; set 'bot' in "
            f"{config.path.name} to the name of your nextcord_ormar.Bot"
        ) from None
    if not isinstance(obj, bot_module.DatabaseBotMixin):
        kind = f"{type(obj).__module__}.{type(obj).__qualname__}"
        raise ConfigError(
            f"{config.module}.{config.bot} is a {kind}, not a nextcord_ormar bot; create it "
            "with nextcord_ormar.Bot(...) (or AutoShardedBot)"
        )
    return obj
