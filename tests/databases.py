"""Fresh, throw-away databases on the three supported servers, for tests and benchmarks.

Each call to :func:`fresh_database` creates a database with a unique name and yields its
URL; the database is dropped afterwards. Server addresses come from the environment
(``NXO_TEST_POSTGRESQL_URL``, ``NXO_TEST_MYSQL_URL``) with the machine's defaults.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from tests.leakcheck import SECRET

BACKENDS = ("sqlite", "postgresql", "mysql")

SERVER_URLS = {
    "postgresql": os.environ.get(
        "NXO_TEST_POSTGRESQL_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    ),
    "mysql": os.environ.get("NXO_TEST_MYSQL_URL", "mysql+aiomysql://root@127.0.0.1:3306/mysql"),
}


#: A MariaDB user whose password is the suite's secret (see tests/leakcheck.py).
MYSQL_TEST_USER = "nxo_tester"
_mysql_user_ready = False


class ServerUnavailable(Exception):
    """The database server for a backend could not be reached."""


async def _admin(backend: str, statements: list[str]) -> None:
    engine = create_async_engine(SERVER_URLS[backend], isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            for statement in statements:
                await conn.execute(sqlalchemy.text(statement))
    finally:
        await engine.dispose()


def _run(coro: object) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(coro)  # type: ignore[arg-type]
        return
    # Called from inside a running loop (an async fixture): use a private loop in a thread.
    import threading

    error: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(coro)  # type: ignore[arg-type]
        except BaseException as exc:
            error.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if error:
        raise error[0]


@contextmanager
def fresh_database(backend: str, tmp_path: Path) -> Iterator[str]:
    """Create an empty database on ``backend`` and yield its URL (``databases`` style)."""
    if backend == "sqlite":
        # SQLite has no password: the secret rides in the query string (SQLAlchemy ignores
        # the argument, with a warning), so a full URL in any output is still caught.
        path = tmp_path / f"nxo_{uuid.uuid4().hex[:8]}.sqlite3"
        yield f"sqlite:///{path}?password={SECRET}"
        return
    global _mysql_user_ready
    name = f"nxo_test_{uuid.uuid4().hex[:12]}"
    statements = [f"CREATE DATABASE {name}"]
    if backend == "mysql" and not _mysql_user_ready:
        for host in ("%", "localhost"):
            user = f"'{MYSQL_TEST_USER}'@'{host}'"
            statements += [
                f"CREATE USER IF NOT EXISTS {user} IDENTIFIED BY '{SECRET}'",
                f"GRANT ALL PRIVILEGES ON `nxo\\_test\\_%`.* TO {user}",
            ]
    try:
        _run(_admin(backend, statements))
        _mysql_user_ready = _mysql_user_ready or backend == "mysql"
    except (OSError, sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError) as exc:
        raise ServerUnavailable(f"{backend} server unreachable: {exc}") from exc
    server = make_url(SERVER_URLS[backend])
    scheme = "postgresql" if backend == "postgresql" else "mysql"
    # Every test URL carries the suite's secret as its password (tests/leakcheck.py).
    login = {"username": MYSQL_TEST_USER} if backend == "mysql" else {}
    url = server.set(drivername=scheme, database=name, password=SECRET, **login)
    url = url.render_as_string(hide_password=False)
    try:
        yield url
    finally:
        drop = (
            f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            if backend == "postgresql"
            else f"DROP DATABASE IF EXISTS {name}"
        )
        _run(_admin(backend, [drop]))
