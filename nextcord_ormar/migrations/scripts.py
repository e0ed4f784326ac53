"""One app's Alembic configuration, its scripts, and revision names resolved against them."""

from __future__ import annotations

import argparse
import functools
import io
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.engine import Connection

from ..apps import OrmarApp
from ..errors import MigrationError, UnknownRevisionError
from . import bytecode
from .chain import check_heads, check_ids
from .environment import ATTRIBUTE, AppEnvironment
from .results import RevisionInfo
from .snapshot import AppSnapshot

__all__ = ["TEMPLATE_DIR", "AppScripts", "ScriptsOf"]

#: Alembic's ``script_location``: the bundled ``env.py`` and ``script.py.mako``.
TEMPLATE_DIR = Path(__file__).resolve().parent / "template"


def _ini_escape(value: str) -> str:
    return value.replace("%", "%%")


class AppScripts:
    """Alembic's view of one app: its :class:`Config` and :class:`ScriptDirectory`.

    Built once per operation (see ``EngineCore.scripts``) over one :class:`AppSnapshot` of
    the app: every configuration it makes sees the same tables, even if the cog is reloaded
    meanwhile. Without one it reads the live app once, when made.
    """

    def __init__(
        self, app: OrmarApp, dialect_name: str, snapshot: AppSnapshot | None = None
    ) -> None:
        self.app = app
        self.dialect_name = dialect_name
        self.snapshot = snapshot or AppSnapshot.live(app)
        self.folder = self.snapshot.folder

    def config(
        self, *, connection: Connection | None = None, output: io.StringIO | None = None, **env: Any
    ) -> Config:
        """A fresh Alembic ``Config`` for this app (no ini file involved).

        Alembic reads the app's folder through it: its large scripts are compiled first, out
        of this process (see :mod:`.bytecode`).
        """
        quiet = argparse.Namespace(quiet=True)  # Alembic prints "Generating ..." otherwise
        cfg = Config(output_buffer=output, cmd_opts=quiet)
        cfg.set_main_option("script_location", _ini_escape(str(TEMPLATE_DIR)))
        cfg.set_main_option("version_locations", _ini_escape(str(self.folder)))
        cfg.set_main_option("path_separator", "os")
        cfg.set_main_option("file_template", "%%(rev)s_%%(slug)s")
        bytecode.prepare(self.folder)
        cfg.attributes[ATTRIBUTE] = AppEnvironment(
            app=self.app.name,
            table_names=self.snapshot.table_names,
            metadata=self.snapshot.metadata,
            version_table=self.snapshot.version_table,
            dialect_name=self.dialect_name,
            connection=connection,
            **env,
        )
        return cfg

    # Reading the script directory imports every script; compiling a large one is a single
    # call that holds the GIL (about 15 ms for a 300-table script) while the bot's loop
    # waits, so ``config()`` has them compiled by a child first (see .bytecode). One
    # AppScripts asks the directory once, and a reading is shared with later operations for
    # as long as the folder's scripts are unchanged (see ``_shared``).

    @functools.cached_property
    def _directory(self) -> ScriptDirectory:
        return _shared(self.folder, self._read)

    def _read(self) -> ScriptDirectory:
        check_ids(self.app.name, self.folder)  # before Alembic keeps one of two and warns
        directory = ScriptDirectory.from_config(self.config())
        if self.has_scripts():
            check_heads(self.app.name, directory)
        return directory

    def directory(self) -> ScriptDirectory:
        return self._directory

    def has_scripts(self) -> bool:
        return self.folder.is_dir() and any(self.folder.glob("*.py"))

    @functools.cached_property
    def _revisions(self) -> tuple[Script, ...]:
        if not self.has_scripts():
            return ()
        return tuple(reversed(list(self.directory().walk_revisions())))

    def revisions(self) -> list[Script]:
        """The app's scripts, oldest first."""
        return list(self._revisions)

    @functools.cached_property
    def _heads(self) -> tuple[str, ...]:
        return tuple(self.directory().get_heads()) if self.has_scripts() else ()

    def heads(self) -> list[str]:
        return list(self._heads)

    def current(self, connection: Connection) -> str | None:
        """The revision the database is at for this app (``None``: nothing applied)."""
        context = MigrationContext.configure(
            connection, opts={"version_table": self.app.version_table}
        )
        heads = context.get_current_heads()
        return heads[0] if heads else None

    def info(self, script: Script, *, applied: set[str] | None = None) -> RevisionInfo:
        heads = set(self.heads())
        down = script.down_revision
        return RevisionInfo(
            app=self.app.name,
            revision=script.revision,
            message=(script.doc or "").strip(),
            down_revision=down if isinstance(down, str) or down is None else ",".join(down),
            path=Path(script.path),
            applied=(script.revision in applied) if applied is not None else None,
            is_head=script.revision in heads,
        )

    def known(self) -> list[str]:
        return [s.revision for s in self.revisions()]

    def _unknown(self, name: str) -> UnknownRevisionError:
        known = ", ".join(self.known()) or "none yet"
        return UnknownRevisionError(
            f"app {self.app.name!r} has no revision {name!r} (its revisions: {known}; "
            "also accepted: head, base, -N, +N)"
        )

    def revision_id(self, name: str, current: str | None) -> str | None:
        """A revision id for ``name``: an id (or unique prefix), head, base, -N or +N."""
        name = name.strip()
        chain = self.known()
        if name in ("head", "heads"):
            heads = self.heads()
            if len(heads) > 1:
                raise MigrationError(
                    f"app {self.app.name!r} has several heads ({', '.join(heads)}); "
                    "name the revision"
                )
            return heads[0] if heads else None
        if name == "base":
            return None
        steps = name[1:]
        # ASCII digits only: str.isdigit() also accepts "²", which int() refuses
        if len(name) > 1 and name[0] in "+-" and steps.isascii() and steps.isdigit():
            position = chain.index(current) + 1 if current in chain else 0
            moved = position + int(name)
            if moved < 0 or moved > len(chain):
                raise self._unknown(name)
            return chain[moved - 1] if moved > 0 else None
        if not self.has_scripts():
            raise self._unknown(name)
        try:
            script = self.directory().get_revision(name)
        except CommandError:
            raise self._unknown(name) from None
        except Exception:
            raise self._unknown(name) from None
        if script is None:
            raise self._unknown(name)
        return str(script.revision)

    def path_between(self, lower: str | None, upper: str | None) -> list[Script]:
        """Scripts after ``lower`` up to and including ``upper``, oldest first."""
        chain = self.revisions()
        ids = [s.revision for s in chain]
        start = ids.index(lower) + 1 if lower in ids else 0
        end = ids.index(upper) + 1 if upper in ids else 0
        return chain[start:end]


#: How helpers outside the engine get an app's :class:`AppScripts`: the engine hands them
#: ``EngineCore.scripts``, the one place they are built.
ScriptsOf = Callable[[OrmarApp], AppScripts]

_Fingerprint = tuple[tuple[str, int, int], ...]
_READINGS: dict[Path, tuple[_Fingerprint, ScriptDirectory]] = {}
_READINGS_LOCK = threading.Lock()


def _fingerprint(folder: Path) -> _Fingerprint:
    """Name, modification time (ns) and size of every ``*.py`` in ``folder``."""
    try:
        with os.scandir(folder) as entries:
            found = [
                (entry.name, *_stamp(entry.stat()))
                for entry in entries
                if entry.name.endswith(".py") and entry.is_file()
            ]
    except (FileNotFoundError, NotADirectoryError):
        return ()
    return tuple(sorted(found))


def _stamp(stat: os.stat_result) -> tuple[int, int]:
    return stat.st_mtime_ns, stat.st_size


def _shared(folder: Path, read: Callable[[], ScriptDirectory]) -> ScriptDirectory:
    """The reading of ``folder`` made while its scripts were as they are now, or ``read()``.

    A script added, removed or written since (another name, time or size) makes a new
    reading; only readings that passed the id and head checks are kept, one per folder.
    """
    key = folder.resolve()
    before = _fingerprint(key)
    with _READINGS_LOCK:
        kept = _READINGS.get(key)
    if kept is not None and kept[0] == before:
        return kept[1]
    directory = read()
    if _fingerprint(key) == before:  # not written to while it was read
        with _READINGS_LOCK:
            _READINGS[key] = (before, directory)
    return directory
