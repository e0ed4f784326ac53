"""Figure 5: make + upgrade of one big metadata, through our engine and through plain Alembic.

Both sides start from an empty database of their own and the same ``MetaData`` (a cog's
app with many tables). Plain Alembic is a minimal project: an ``env.py`` over that metadata
with the same async driver (Alembic's async recipe), ``alembic.command.revision(autogenerate=
True)`` then ``alembic.command.upgrade``. Ours is ``MigrationEngine.make`` then ``upgrade``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import time
from pathlib import Path

from .common import (
    Json,
    Sizes,
    async_url,
    child_main,
    clear_versions,
    fresh_database,
    median,
    write_project,
)

APP = "big"

ENV_PY = """\
import asyncio

from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine

config = context.config
metadata = config.attributes["metadata"]


def run(connection):
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def main():
    engine = create_async_engine(config.get_main_option("sqlalchemy.url"))
    async with engine.connect() as connection:
        await connection.run_sync(run)
    await engine.dispose()


asyncio.run(main())
"""


def plain_alembic(folder: Path, url: str, metadata: object) -> tuple[float, float]:
    """(make, upgrade) seconds through a plain Alembic project."""
    from alembic import command
    from alembic.config import Config

    from .cli_startup import SCRIPT_MAKO

    if folder.exists():
        shutil.rmtree(folder)
    (folder / "versions").mkdir(parents=True)
    (folder / "env.py").write_text(ENV_PY, encoding="utf-8")
    (folder / "script.py.mako").write_text(
        "import sqlalchemy as sa\nfrom alembic import op\n" + SCRIPT_MAKO, encoding="utf-8"
    )
    config = Config(attributes={"metadata": metadata})
    config.set_main_option("script_location", str(folder))
    config.set_main_option("sqlalchemy.url", async_url(url).replace("%", "%%"))
    start = time.perf_counter()
    command.revision(config, message="create tables", autogenerate=True)
    made = time.perf_counter()
    command.upgrade(config, "head")
    return made - start, time.perf_counter() - made


def ours(project: Path, url: str, bot: object) -> tuple[float, float]:
    """(make, upgrade) seconds through ``MigrationEngine`` with its defaults."""
    from nextcord_ormar import database
    from nextcord_ormar.migrations import MigrationEngine

    database.configure(url)
    clear_versions(project)
    engine = MigrationEngine.for_bot(bot)
    start = time.perf_counter()
    made = asyncio.run(engine.make(APP))
    middle = time.perf_counter()
    moved = asyncio.run(engine.upgrade([APP]))
    end = time.perf_counter()
    if made.outcome != "written" or any(run.error for run in moved.apps):
        raise RuntimeError(f"make/upgrade failed: {made.outcome}, {moved}")
    return middle - start, end - middle


def run(backend: str, sizes: Sizes, folder: Path) -> Json:
    project = folder / "project"
    with fresh_database(backend, folder) as first_url:
        write_project(project, first_url, {APP: sizes.overhead_tables})
    sys.path.insert(0, str(project))
    os.chdir(project)
    asyncio.set_event_loop(asyncio.new_event_loop())  # nextcord 2.6's Client wants one
    import bot as bot_module  # type: ignore[import-not-found]

    from nextcord_ormar import registry

    metadata = registry.get(APP).metadata
    parts: dict[str, list[tuple[float, float]]] = {"ours": [], "plain": []}
    for attempt in range(sizes.overhead_runs + 1):  # the first round warms up both
        with fresh_database(backend, folder) as url:
            mine = ours(project, url, bot_module.bot)
        with fresh_database(backend, folder) as url:
            other = plain_alembic(folder / "plain", url, metadata)
        if attempt:
            parts["ours"].append(mine)
            parts["plain"].append(other)

    def mid(key: str, index: int | None = None) -> float:
        pairs = parts[key]
        return median([sum(p) if index is None else p[index] for p in pairs])

    return {
        "tables": sizes.overhead_tables,
        "runs": sizes.overhead_runs,
        "engine_s": round(mid("ours"), 3),
        "plain_alembic_s": round(mid("plain"), 3),
        "ratio": round(mid("ours") / mid("plain"), 2),
        "engine_make_s": round(mid("ours", 0), 3),
        "engine_upgrade_s": round(mid("ours", 1), 3),
        "plain_make_s": round(mid("plain", 0), 3),
        "plain_upgrade_s": round(mid("plain", 1), 3),
        "make_ratio": round(mid("ours", 0) / mid("plain", 0), 2),
    }


def main() -> None:
    child_main(lambda args, sizes, folder: run(args.database, sizes, folder))


if __name__ == "__main__":
    main()
