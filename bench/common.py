"""Shared pieces of the benchmarks: sizes, statistics, temporary bot projects, child processes."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BACKENDS = ("sqlite", "postgresql", "mysql")

Json = dict[str, Any]


@dataclass(frozen=True)
class Sizes:
    """How big each figure's workload is; ``smoke`` shrinks everything so CI stays fast."""

    big_cog_tables: int = 300
    many_cogs: int = 40
    tables_per_cog: int = 8
    unrelated_tables: int = 2000
    scaling_cog_tables: int = 5
    scaling_runs: int = 5
    scaling_engine_runs: int = 30
    ack_invocations: int = 40
    busy_seconds: float = 6.0
    busy_invocations: int = 20
    cli_runs: int = 7
    overhead_tables: int = 300
    overhead_runs: int = 3
    heartbeat_interval: float = 0.1
    probe_interval: float = 0.005
    loop_runs: int = 5
    backup_mb: int = 100
    backup_runs: int = 3
    replay_tables: int = 20
    replay_migrations: int = 10
    replay_runs: int = 3

    @classmethod
    def smoke(cls) -> Sizes:
        return cls(
            big_cog_tables=10,
            many_cogs=3,
            tables_per_cog=3,
            unrelated_tables=50,
            scaling_runs=1,
            scaling_engine_runs=1,
            ack_invocations=5,
            busy_seconds=1.5,
            busy_invocations=3,
            cli_runs=1,
            overhead_tables=10,
            overhead_runs=1,
            backup_mb=2,
            backup_runs=1,
            replay_tables=2,
            replay_migrations=2,
            replay_runs=1,
            loop_runs=1,
        )

    def as_json(self) -> Json:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Json) -> Sizes:
        return cls(**data)


# -- statistics ----------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by linear interpolation; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = (len(ordered) - 1) * q / 100.0
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0


def ms(seconds: float) -> float:
    """Seconds to milliseconds, rounded for reports."""
    return round(seconds * 1000.0, 1)


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


# -- databases -------------------------------------------------------------------------------


@contextmanager
def fresh_database(backend: str, folder: Path) -> Iterator[str]:
    """An empty database of its own on ``backend`` (dropped afterwards); yields its URL."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from tests.databases import fresh_database as make

    with make(backend, folder) as url:
        yield url


def async_url(url: str) -> str:
    """The URL with the async driver nextcord_ormar uses for the backend."""
    from nextcord_ormar import normalize_url

    # str() of a SQLAlchemy URL masks the password; this one is handed to drivers.
    return normalize_url(url).render_as_string(hide_password=False)


def create_unrelated_tables(url: str, count: int) -> None:
    """Create ``count`` tables no cog knows about, with plain SQL, in one go."""
    if count <= 0:
        return
    import asyncio

    import sqlalchemy
    from sqlalchemy.ext.asyncio import create_async_engine

    async def main() -> None:
        engine = create_async_engine(async_url(url))
        try:
            async with engine.begin() as conn:
                for index in range(count):
                    await conn.execute(
                        sqlalchemy.text(
                            f"CREATE TABLE legacy_{index:05d} (id INTEGER PRIMARY KEY, "
                            "label VARCHAR(40), amount INTEGER)"
                        )
                    )
        finally:
            await engine.dispose()

    asyncio.run(main())


# -- bot projects ----------------------------------------------------------------------------


def cog_source(app: str, tables: int) -> str:
    """A cog module (a nextcord extension) whose app has ``tables`` small models."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from tests.sample_cogs import many_tables

    return many_tables(app, tables)


def cog_name(app: str) -> str:
    """The name ``many_tables`` gives the cog class (and so the cog) of ``app``."""
    return app.title().replace("_", "")


BOT_MODULE = """\
import nextcord
from nextcord_ormar import Bot

bot = Bot(database_url={url!r}, intents=nextcord.Intents.default())
for extension in {extensions!r}:
    bot.load_extension(extension)

if __name__ == "__main__":
    bot.run("token")
"""


def write_project(root: Path, url: str, cogs: dict[str, int]) -> list[str]:
    """A bot project: ``cogs/<app>/__init__.py`` per app, ``bot.py``, ``nxalembic.ini``.

    Returns the extension names. Each cog is a package, so its migrations go to
    ``cogs/<app>/migrations``.
    """
    (root / "cogs").mkdir(parents=True, exist_ok=True)
    (root / "cogs" / "__init__.py").write_text("", encoding="utf-8")
    extensions = []
    for app, tables in cogs.items():
        package = root / "cogs" / app
        package.mkdir(exist_ok=True)
        (package / "__init__.py").write_text(cog_source(app, tables), encoding="utf-8")
        extensions.append(f"cogs.{app}")
    (root / "bot.py").write_text(
        BOT_MODULE.format(url=url, extensions=extensions), encoding="utf-8"
    )
    (root / "nxalembic.ini").write_text("[nxalembic]\nmodule = bot\nbot = bot\n", encoding="utf-8")
    return extensions


def clear_versions(root: Path) -> None:
    """Remove every generated migration script of the project (keep the folders)."""
    for script in root.glob("cogs/*/migrations/*.py"):
        script.unlink()


# -- child processes -------------------------------------------------------------------------


def child_env(extra_path: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    paths = [str(REPO)] + ([str(extra_path)] if extra_path else [])
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    return env


def run_child(
    module: str,
    args: list[str],
    out: Path,
    timeout: float = 600.0,
    env: dict[str, str] | None = None,
) -> Json:
    """Run ``python -m bench.<module> ... --result out`` and read the JSON it wrote
    (``env``: the child's environment, :func:`child_env` by default)."""
    cmd = [sys.executable, "-m", f"bench.{module}", *args, "--result", str(out)]
    done = subprocess.run(
        cmd, cwd=REPO, env=env or child_env(), capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0 or not out.exists():
        tail = (done.stderr or done.stdout).strip().splitlines()[-15:]
        raise RuntimeError(f"bench.{module} {' '.join(args)} failed:\n" + "\n".join(tail))
    result: Json = json.loads(out.read_text(encoding="utf-8"))
    return result


def child_main(
    measure: Callable[[argparse.Namespace, Sizes, Path], Json],
    parser: argparse.ArgumentParser | None = None,
) -> None:
    """A figure's child process: read ``--database/--sizes/--result``, measure, write JSON.

    ``measure(args, sizes, folder)`` runs in a temporary folder of its own; ``parser`` may
    add options of the figure's own (start from :func:`child_parser`).
    """
    args = (parser or child_parser()).parse_args()
    sizes = Sizes.from_json(json.loads(args.sizes))
    result = str(Path(args.result).resolve())
    with tempfile.TemporaryDirectory(prefix="nxo-bench-") as tmp:
        write_result(result, measure(args, sizes, Path(tmp)))


def child_parser() -> argparse.ArgumentParser:
    """The options every figure's child process takes."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default="sqlite")
    parser.add_argument("--sizes", required=True)
    parser.add_argument("--result", required=True)
    return parser


def write_result(path: str, data: Json) -> None:
    Path(path).write_text(json.dumps(data, indent=2), encoding="utf-8")
