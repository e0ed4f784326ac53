"""What the bot module told nxalembic last time, so read-only commands need not import it.

Importing the bot's module imports nextcord and every cog, which takes longer than the
whole of ``alembic current``. ``current``, ``history``, ``heads`` and ``show`` need only the
apps' names, folders and dependency order and the database URL, so after each import
nxalembic writes those facts down (:func:`remember`) with what they were derived from:
the project files the import read, imported or listed (by content), the environment (by
hash), the ini file and the Python and nextcord-ormar in use. A later read-only command
uses them (:func:`recall`) only if every one of those is unchanged; otherwise it imports
the bot as before. ``cache = no`` in ``nxalembic.ini`` turns this off.

The facts include the database URL, so they are kept outside the project (never committed
with it) in the user's cache folder (``$XDG_CACHE_HOME`` or ``~/.cache``), readable by the
user only; a URL that carries a credential (a password, a secret in its query string or a
secret-named engine option) is never written down: then every command imports the bot.
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import io
import json
import os
import sys
import sysconfig
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import sqlalchemy
from sqlalchemy.engine import URL, make_url

from ..apps import Registry
from ..connection import PlainDatabase, normalize_url
from ..errors import NextcordOrmarError
from ..redact import is_secret_key, secrets_of
from .project import ProjectConfig

__all__ = [
    "READ_ONLY_COMMANDS",
    "RecordedBot",
    "Recorder",
    "recall",
    "recording",
    "remember",
    "stamp",
]


#: Commands that answer from the scripts and version tables alone (no model is compared).
READ_ONLY_COMMANDS = frozenset({"current", "history", "heads", "show"})
_FORMAT = 2
#: Environment variables that differ between shells without changing what a bot does.
_VOLATILE = frozenset(
    {"_", "PWD", "OLDPWD", "SHLVL", "PYTEST_CURRENT_TEST", "PYTHONDONTWRITEBYTECODE"}
    | {"PYTHONPYCACHEPREFIX", "PYTHONUNBUFFERED"}
)
#: How many sets of facts are kept (one per project folder, config and environment).
_KEEP = 200


def _library_roots() -> tuple[str, ...]:
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix}
    roots.update(sysconfig.get_paths().values())
    return tuple(sorted(os.path.join(os.path.realpath(r), "") for r in roots if r))


def _is_project_file(path: str, roots: tuple[str, ...]) -> bool:
    real = os.path.realpath(path)
    return not real.startswith(roots) and "site-packages" not in real.split(os.sep)


def _digest(path: str) -> str:
    """A file's content hash, ``-`` when it is missing, a listing's hash for a folder."""
    try:
        if os.path.isdir(path):
            names = "\0".join(sorted(os.listdir(path)))
            return "dir:" + hashlib.sha256(names.encode()).hexdigest()
        with open(path, "rb") as file:
            return hashlib.sha256(file.read()).hexdigest()
    except OSError:
        return "-"


def _environment() -> str:
    items = sorted((k, v) for k, v in os.environ.items() if k not in _VOLATILE)
    return hashlib.sha256(json.dumps(items).encode()).hexdigest()


@dataclass
class Recorder:
    """The files and folders an import touched (see :func:`recording`)."""

    modules_before: set[str]
    touched: set[str] = field(default_factory=set)
    digests: dict[str, str] = field(default_factory=dict)

    def snapshot(self) -> None:
        """Hash what the import read, right after it (not when the command ends)."""
        roots = _library_roots()
        paths = set(self.touched)
        for name, module in list(sys.modules.items()):
            if name not in self.modules_before:
                path = getattr(module, "__file__", None)
                if isinstance(path, str):
                    paths.add(path)
        self.digests = {os.path.abspath(p): _digest(p) for p in paths if _is_project_file(p, roots)}


@contextlib.contextmanager
def recording() -> Iterator[Recorder]:
    """Note every file opened and folder listed, and every module imported, in the block."""
    recorder = Recorder(set(sys.modules))
    saved_open, saved_io_open = builtins.open, io.open
    saved_listdir, saved_scandir = os.listdir, os.scandir

    def note(path: Any) -> None:
        if isinstance(path, str | os.PathLike):
            recorder.touched.add(os.fspath(path))

    def open_(file: Any, *args: Any, **kwargs: Any) -> Any:
        note(file)
        return saved_open(file, *args, **kwargs)

    def listdir(path: Any = ".") -> Any:
        note(path)
        return saved_listdir(path)

    def scandir(path: Any = ".") -> Any:
        note(path)
        return saved_scandir(path)

    builtins.open = io.open = open_
    os.listdir, os.scandir = listdir, scandir
    try:
        yield recorder
    finally:
        builtins.open, io.open = saved_open, saved_io_open
        os.listdir, os.scandir = saved_listdir, saved_scandir
    recorder.snapshot()


def _cache_file(config: ProjectConfig) -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    place = [str(config.path.resolve()), os.getcwd(), config.module, config.bot]
    key = json.dumps([*place, _environment()])
    name = hashlib.sha256(key.encode()).hexdigest()[:32] + ".json"
    return Path(base) / "nextcord-ormar" / "nxalembic" / name


def stamp(config: ProjectConfig) -> dict[str, Any]:
    """What must be unchanged for the facts to hold, besides the files; taken before the
    bot's module is imported (the import adds the project to ``sys.path``)."""
    from .. import __version__

    return {
        "format": _FORMAT,
        "version": __version__,
        "python": [sys.executable, sys.version],
        "ini": _digest(str(config.path)),
        "path": sys.path[1:],
    }


def remember(config: ProjectConfig, taken: dict[str, Any], bot: Any, recorder: Recorder) -> None:
    """Write down the loaded bot's apps and database (quietly give up if it cannot)."""
    if not config.cache or config.module in recorder.modules_before:
        return  # a module imported before (in this process) was not read now: nothing to go by
    url = bot.database.sa_url
    options = getattr(bot, "_database_options", {})
    source = _url_source(url)
    if source is not None and source["part"] == "url":
        written: URL | None = None  # all of it from the environment: only its shape is kept
    else:
        written = _without_password(url) if source is not None else url
        if _carries_credential(written, {}):
            return  # never written to disk: read-only commands import the bot each time
    if _carries_credential(None, options):
        return
    registry: Registry = bot.registry
    facts = {
        **taken,
        "files": recorder.digests,
        "url": written.render_as_string(hide_password=False) if written is not None else None,
        "url_from": source,
        "shape": _shape(url),
        "options": options,
        "apps": [
            {
                "name": app.name,
                "module": app.module,
                "module_file": app.module_file,
                "migrations": str(app.migrations_path),
                "depends": sorted(app.dependencies),
            }
            for app in registry.apps.values()
        ],
    }
    path = _cache_file(config)
    try:
        text = json.dumps(facts)
        if any(secret in text for secret in secrets_of(url)):
            return  # the password also spelled elsewhere in the URL (a user of that name...)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
        _prune(path.parent)
    except (OSError, TypeError, ValueError):
        return  # engine options that are not data, an unwritable cache: import next time


def _shape(url: URL) -> list[Any]:
    """What a URL taken from the environment must still name: dialect and driver, host,
    port and database (no user name, password or query string)."""
    return [url.drivername, url.host, url.port, url.database]


def _without_password(url: URL) -> URL:
    return url._replace(password=None)  # URL.set() ignores None


def _url_source(url: URL) -> dict[str, str] | None:
    """The environment variable the bot took its database URL (or only the URL's password)
    from, when one holds exactly that: then only the variable's name is written down, and
    a later command reads the value again (see :func:`_url_of`)."""
    if not url.password and not secrets_of(url):
        return None
    for name, value in sorted(os.environ.items()):
        if name in _VOLATILE or not value.strip():
            continue
        password = url.password is not None and value == str(url.password)
        if password and not secrets_of(_without_password(url)):
            return {"variable": name, "part": "password"}
        if "://" not in value:
            continue
        try:
            if normalize_url(value, check_driver=False) == url:
                return {"variable": name, "part": "url"}
        except Exception:  # any variable may hold anything: not this URL, then
            continue
    return None


def _url_of(facts: dict[str, Any]) -> str | URL | None:
    """The recorded URL, its password or the whole of it read again from the environment
    variable it came from; ``None`` when the variable is gone or no longer fits."""
    source = facts.get("url_from")
    if source is None:
        return str(facts["url"])
    value = os.environ.get(source["variable"])
    if not value:
        return None
    if source["part"] == "password":
        url = make_url(facts["url"]).set(password=value)
    else:
        url = normalize_url(value, check_driver=False)
    return url if _shape(url) == facts["shape"] else None


def _carries_credential(url: Any, options: Any) -> bool:
    """A password or secret in the URL, or a secret-named key anywhere in the options."""
    if secrets_of(url):
        return True
    pending = [options]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            pending.extend(value.values())
            if any(is_secret_key(str(key)) for key in value):
                return True
        elif isinstance(value, list | tuple):
            pending.extend(value)
    return False


def _prune(folder: Path) -> None:
    """Keep the newest :data:`_KEEP` files (each project, config and environment has one)."""
    files = list(folder.glob("*.json"))
    if len(files) > _KEEP:
        files.sort(key=lambda f: f.stat().st_mtime)
        for old in files[: len(files) - _KEEP]:
            old.unlink(missing_ok=True)


def recall(config: ProjectConfig, taken: dict[str, Any]) -> RecordedBot | None:
    """The bot as last recorded, if nothing it was derived from has changed."""
    if not config.cache:
        return None
    try:
        facts = json.loads(_cache_file(config).read_text(encoding="utf-8"))
        if any(facts.get(key) != value for key, value in taken.items()):
            return None
        for path, digest in facts["files"].items():
            if _digest(path) != digest:
                return None
        url = _url_of(facts)
        return RecordedBot(facts, url) if url is not None else None
    except (OSError, ValueError, KeyError, TypeError, NextcordOrmarError):
        return None


class RecordedBot:
    """The part of a bot read-only commands use, rebuilt from recorded facts."""

    def __init__(self, facts: dict[str, Any], url: str | URL) -> None:
        self.backups = None
        self._database_options: dict[str, Any] = dict(facts["options"])
        # A plain SQLAlchemy URL and engine options: no ormar connection, no ormar import.
        self.database = PlainDatabase(url, **self._database_options)
        database = cast(Any, self.database)  # the registry's apps never reach it here
        self.registry = Registry(metadata=sqlalchemy.MetaData(), database=database)
        for app in facts["apps"]:
            self.registry.create(
                app["name"],
                module=app["module"],
                module_file=app["module_file"],
                migrations=app["migrations"],
            )
        self.registry.recorded_dependencies = {a["name"]: set(a["depends"]) for a in facts["apps"]}

    def set_database_url(self, url: str, **options: Any) -> None:
        self._database_options = dict(options or self._database_options)
        self.database.configure(url, **self._database_options)

    async def connect_database(self) -> None:
        """As the bot does it: connect, and check the database answers."""
        await self.database.connect_checked()

    async def disconnect_database(self) -> None:
        await self.database.disconnect_logged()
