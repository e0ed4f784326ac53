"""A temporary bot project that tests run the real ``nxalembic`` in, as a subprocess.

:class:`BotProject` writes the bot module, the cogs and ``nxalembic.ini`` into a folder,
runs ``python -m nextcord_ormar.nxalembic`` there, and looks at the database it points at
with SQLAlchemy directly (tables, rows, and Alembic's own comparison of an app's models
with the database), never through the code under test.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import create_async_engine

from nextcord_ormar import normalize_url, registry
from tests.leakcheck import saw

T = TypeVar("T")

BOT_MODULE = "mybot"


@dataclass
class Run:
    """One finished ``nxalembic`` run."""

    args: tuple[str, ...]
    code: int
    out: str
    err: str

    def __str__(self) -> str:
        return (
            f"$ nxalembic {' '.join(self.args)}\n-> exit {self.code}\n"
            f"--- stdout ---\n{self.out}--- stderr ---\n{self.err}"
        )

    @property
    def output(self) -> str:
        return self.out + self.err


def cog_source(app: str, body: str, *, imports: str = "") -> str:
    """A single-file cog module: an app called ``app``, the models in ``body``, a cog, setup."""
    return (
        "import ormar\n"
        "import sqlalchemy\n"
        "from nextcord.ext import commands\n"
        "from nextcord_ormar import AppModel, OrmarApp\n"
        f"{textwrap.dedent(imports).strip()}\n\n"
        f"app = OrmarApp.create_app({app!r})\n\n\n"
        f"{textwrap.dedent(body).strip()}\n\n\n"
        f"class {app.title().replace('_', '')}Cog(commands.Cog):\n"
        "    pass\n\n\n"
        "def setup(bot):\n"
        f"    bot.add_cog({app.title().replace('_', '')}Cog())\n"
    )


class BotProject:
    """A bot project folder with ``nxalembic.ini``, ``mybot.py`` and ``cogs/``."""

    def __init__(self, root: Path, db_url: str) -> None:
        self.root = root
        self.backend = normalize_url(db_url).get_backend_name()
        if self.backend == "sqlite":
            # nxalembic would print SQLAlchemy's warning about the secret query argument the
            # test SQLite URLs carry (tests/databases.py); the terminal tests use a plain path.
            db_url = make_url(db_url).set(query={}).render_as_string(hide_password=False)
        self.db_url = db_url
        root.mkdir(parents=True, exist_ok=True)
        self.write("cogs/__init__.py", "")

    # -- files ------------------------------------------------------------------------

    def write(self, relative: str, source: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source).lstrip(), encoding="utf-8")
        return path

    def write_ini(self, module: str = BOT_MODULE, bot: str = "bot") -> None:
        self.write("nxalembic.ini", f"[nxalembic]\nmodule = {module}\nbot = {bot}\n")

    def write_bot(self, *extensions: str, url: str | None = None) -> None:
        """``mybot.py``: a nextcord_ormar.Bot on the test database that loads ``extensions``."""
        loads = "".join(f"bot.load_extension({ext!r})\n" for ext in extensions)
        self.write(
            f"{BOT_MODULE}.py",
            "import nextcord\n"
            "from nextcord_ormar import Bot\n\n"
            f"bot = Bot(database_url={url or self.db_url!r}, intents=nextcord.Intents.none())\n"
            f"{loads}\n"
            'if __name__ == "__main__":\n'
            '    bot.run("not-a-token")\n',
        )

    def write_cog(self, app: str, body: str, *, imports: str = "") -> None:
        self.write(f"cogs/{app}.py", cog_source(app, body, imports=imports))

    def migrations(self, app: str) -> list[str]:
        """File names in a single-file cog's versions folder, sorted."""
        folder = self.root / "cogs" / app / "migrations"
        return sorted(p.name for p in folder.glob("*.py")) if folder.is_dir() else []

    def migration_text(self, app: str, prefix: str) -> str:
        (name,) = [n for n in self.migrations(app) if n.startswith(prefix)]
        return (self.root / "cogs" / app / "migrations" / name).read_text(encoding="utf-8")

    # -- running nxalembic ---------------------------------------------------------------

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        env["PYTHONDONTWRITEBYTECODE"] = "1"  # sources change within a second in these tests
        return env

    def nx(self, *args: str, cwd: Path | None = None) -> Run:
        """Run ``python -m nextcord_ormar.nxalembic ARGS`` in the project folder."""
        done = subprocess.run(
            [sys.executable, "-m", "nextcord_ormar.nxalembic", *args],
            cwd=cwd or self.root,
            env=self._env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        saw("nxalembic " + " ".join(args), done.stdout, done.stderr)
        return Run(tuple(args), done.returncode, done.stdout, done.stderr)

    def start(self, *args: str) -> Background:
        """Start ``nxalembic ARGS`` without waiting; its stderr can be read while it runs."""
        return Background(self, args)

    def ok(self, *args: str) -> Run:
        """Run ``nxalembic ARGS`` and require exit status 0."""
        run = self.nx(*args)
        assert run.code == 0, str(run)
        return run

    # -- the database, seen directly ------------------------------------------------------

    def db(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn`` on a fresh connection to the project's database; commit afterwards."""

        async def go() -> T:
            engine = create_async_engine(normalize_url(self.db_url))
            try:
                async with engine.begin() as conn:
                    return await conn.run_sync(fn)
            finally:
                await engine.dispose()

        return asyncio.run(go())

    def tables(self) -> set[str]:
        return self.db(lambda conn: set(sqlalchemy.inspect(conn).get_table_names()))

    def columns(self, table: str) -> dict[str, dict[str, Any]]:
        return self.db(
            lambda conn: {c["name"]: c for c in sqlalchemy.inspect(conn).get_columns(table)}
        )

    def execute(self, *statements: str) -> None:
        def run(conn: Connection) -> None:
            for statement in statements:
                conn.execute(sqlalchemy.text(statement))

        self.db(run)

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return self.db(lambda conn: [tuple(r) for r in conn.execute(sqlalchemy.text(sql))])

    def version(self, app: str) -> str | None:
        """The revision in the app's own version table (``None``: table missing or empty)."""
        table = f"alembic_version_{app}"
        if table not in self.tables():
            return None
        found = self.rows(f"SELECT version_num FROM {table}")
        return found[0][0] if found else None

    @contextmanager
    def imported(self) -> Iterator[None]:
        """Import the bot module in this process (fresh), so its apps are in the registry."""
        root = str(self.root)
        registry.clear()
        importlib.invalidate_caches()
        saved_flag = sys.dont_write_bytecode
        sys.dont_write_bytecode = True
        sys.path.insert(0, root)
        # nextcord 2.x's Client() asks for the current event loop; asyncio.run() left none.
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            importlib.import_module(BOT_MODULE)
            yield
        finally:
            asyncio.set_event_loop(None)
            loop.close()
            sys.path.remove(root)
            sys.dont_write_bytecode = saved_flag
            for name, module in list(sys.modules.items()):
                if str(getattr(module, "__file__", None) or "").startswith(root):
                    del sys.modules[name]
            registry.clear()

    def model_diff(self, app: str) -> list[Any]:
        """Alembic's comparison of one app's models with the database (empty: they agree)."""

        def include_name(name: str | None, type_: str, parent: Any) -> bool:
            return name in names if type_ == "table" else True

        def include_object(obj: Any, name: str | None, type_: str, *rest: Any) -> bool:
            if type_ == "table":
                return name in names
            table = getattr(obj, "table", None)
            return table is None or table.name in names

        def diff(conn: Connection) -> list[Any]:
            context = MigrationContext.configure(
                conn,
                opts={
                    "include_name": include_name,
                    "include_object": include_object,
                    "compare_type": True,
                    "compare_server_default": True,
                },
            )
            return list(compare_metadata(context, metadata))

        with self.imported():
            the_app = registry.get(app)
            metadata = the_app.metadata
            names = the_app.table_names
            return self.db(diff)


class Background:
    """An ``nxalembic`` run in progress (see :meth:`BotProject.start`)."""

    def __init__(self, project: BotProject, args: tuple[str, ...]) -> None:
        self.args = args
        self._out = project.root.parent / f"nx-{os.getpid()}-{id(self)}.out"
        self._err = self._out.with_suffix(".err")
        with self._out.open("w") as out, self._err.open("w") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "nextcord_ormar.nxalembic", *args],
                cwd=project.root,
                env=project._env(),
                stdout=out,
                stderr=err,
                text=True,
            )

    def stderr(self) -> str:
        """What it printed on stderr so far."""
        return self._err.read_text()

    def finish(self, timeout: float = 60) -> Run:
        """Wait for it to end (killing it after ``timeout`` seconds) and return the run."""
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        out, err = self._out.read_text(), self._err.read_text()
        saw("nxalembic " + " ".join(self.args), out, err)
        return Run(self.args, self.process.returncode, out, err)


def run_parallel(calls: Sequence[Callable[[], T]], workers: int = 4) -> list[T]:
    """Run independent ``nxalembic`` calls side by side (each is a subprocess)."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda call: call(), calls))
