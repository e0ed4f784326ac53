"""A server database's own tools for backups: ``pg_dump``/``psql``, ``mariadb-dump``/``mariadb``.

The password reaches them through ``PGPASSWORD`` or a temporary options file readable by its
owner alone (deleted afterwards), never on a command line; what they print on failure is
passed on as one line without the password or the user name.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import URL

from ..errors import BackupError
from .results import RestoreResult

__all__ = ["ServerTools", "dialect_of", "file_kind"]

_SQLITE_HEADER = b"SQLite format 3\x00"
#: (dump tools, restore tools) per database, first found on PATH wins.
_TOOLS = {
    "postgresql": (("pg_dump",), ("psql",)),
    "mysql": (("mariadb-dump", "mysqldump"), ("mariadb", "mysql")),
    "sqlite": ((), ()),
}


def dialect_of(url: URL) -> str:
    """``sqlite``, ``postgresql`` or ``mysql`` (MariaDB included)."""
    name = url.get_backend_name()
    return name if name in ("sqlite", "postgresql") else "mysql"


def file_kind(path: Path) -> str | None:
    """Which database a backup file is for, from its first bytes (``None``: not a backup)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(4096)
    except OSError as exc:
        raise BackupError(f"cannot read {path}: {exc.strerror}") from None
    if head.startswith(_SQLITE_HEADER):
        return "sqlite"
    text = head.decode(errors="replace")
    if "PostgreSQL database dump" in text:
        return "postgresql"
    if "MariaDB dump" in text or "MySQL dump" in text:
        return "mysql"
    return None


class ServerTools:
    """Dump and restore one server database's tables with its own command-line tools."""

    def __init__(
        self,
        url: URL,
        dump_tool: str | None,
        restore_tool: str | None,
        scrub: Callable[[str], str],
    ) -> None:
        self.url = url
        self.dialect = dialect_of(url)
        self.configured = (dump_tool, restore_tool)
        self._scrub = scrub

    def scrub(self, text: str) -> str:
        """``text`` without the password or the user name of the URL."""
        text = self._scrub(text)
        user = self.url.username
        return re.sub(rf"\b{re.escape(user)}\b", "***", text) if user else text

    def names(self, *, dump: bool) -> str:
        """The tools looked for, for messages: ``mariadb-dump or mysqldump``."""
        return " or ".join(_TOOLS[self.dialect][0 if dump else 1])

    def program(self, *, dump: bool) -> str | None:
        """The configured tool, or the first one found on PATH (``None``: none)."""
        configured = self.configured[0 if dump else 1]
        if configured:
            return shutil.which(configured) or (configured if Path(configured).is_file() else None)
        found = (shutil.which(name) for name in _TOOLS[self.dialect][0 if dump else 1])
        return next((path for path in found if path), None)

    def dump(self, program: str, tables: list[str], part: Path) -> None:
        """Dump ``tables`` (with their drop statements) into ``part``."""
        database = self.url.database or ""
        with self._login() as (login, env):
            if self.dialect == "postgresql":
                quoted = [f'--table="{t.replace(chr(34), chr(34) * 2)}"' for t in tables]
                command = [program, *login, f"--dbname={database}", "--clean", "--if-exists"]
                command += ["--no-owner", "--no-privileges", f"--file={part}", *quoted]
            else:
                command = [program, *login, "--single-transaction", "--add-drop-table"]
                command += [f"--result-file={part}", database, *tables]
            self._call(command, env, None, "backup failed, nothing was changed")

    def restore(self, path: Path) -> RestoreResult:
        """Run a dump's statements (in one transaction on PostgreSQL)."""
        program = self.program(dump=False)
        if program is None:
            raise BackupError(f"cannot restore: {self.names(dump=False)} not found on PATH")
        database = self.url.database or ""
        with self._login() as (login, env):
            if self.dialect == "postgresql":
                command = [program, *login, f"--dbname={database}", "--no-psqlrc", "--quiet"]
                command += ["--single-transaction", "--set=ON_ERROR_STOP=1"]
            else:
                command = [program, *login, database]
            self._call(command, env, path, "restore failed")
        return RestoreResult(path, Path(program).name)

    @contextmanager
    def _login(self) -> Iterator[tuple[list[str], dict[str, str]]]:
        """Connection arguments and environment; the password never on the command line."""
        url, env = self.url, dict(os.environ)
        args: list[str] = []
        if url.host:
            args.append(f"--host={url.host}")
        if url.port:
            args.append(f"--port={url.port}")
        if url.username:
            flag = "username" if self.dialect == "postgresql" else "user"
            args.append(f"--{flag}={url.username}")
        if self.dialect == "postgresql":
            args.append("--no-password")  # never prompt on the terminal; fail instead
            if url.password is not None:
                env["PGPASSWORD"] = str(url.password)
            yield args, env
            return
        with tempfile.TemporaryDirectory(prefix="nxo-") as folder:
            options = Path(folder) / "client.cnf"
            fd = os.open(options, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            secret = str(url.password or "").replace("\\", "\\\\").replace('"', '\\"')
            with os.fdopen(fd, "w") as handle:
                handle.write(f'[client]\npassword="{secret}"\n')
            yield [f"--defaults-extra-file={options}", *args], env

    def _call(self, command: list[str], env: dict[str, str], stdin: Path | None, what: str) -> None:
        name = Path(command[0]).name
        try:
            with open(stdin, "rb") if stdin else open(os.devnull, "rb") as source:
                done = subprocess.run(command, env=env, stdin=source, capture_output=True)
        except OSError as exc:
            raise BackupError(f"{what}: cannot run {name}: {exc.strerror}") from None
        if done.returncode != 0:
            lines = done.stderr.decode(errors="replace").strip().splitlines() or [""]
            raise BackupError(
                self.scrub(f"{what}: {name} exited with status {done.returncode}: {lines[0]}")
            )
