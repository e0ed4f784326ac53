"""Figure: time from ``bot.start()`` to ready with the start-up policy ``check`` against ``off``.

A bot project of many cogs (``many_cogs`` times ``tables_per_cog``), all migrated, so ``check``
finds every cog current and holds none: what the policy costs on a normal start. Each run
starts a fresh bot against the local Discord and stops it; ``off`` and ``check`` alternate,
and the medians are compared (target: at most 1.2x, or at most 0.5 s added).

Those starts share one process, which has imported Alembic (and compiled its own code) by
the time they run. A bot's real start is the first of its process: ``check`` then also
imports Alembic and the engine, which ``off`` never does. So the same pairs are also timed
in fresh processes, one start each (``first_off_s``, ``first_check_s``, ``first_added_s``):
the time from ``start()`` to ready there includes those imports.

Wall-clock times on a shared machine swing with its load, so the figure also counts, for one
``engine.check()`` of every app (scripts already read, as after the first check), the SQL
statements the databases receive and the CPU time the process spends (every thread):
``check_statements``, ``check_cpu_s``, and the same for the first app alone.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

import nextcord
import sqlalchemy
from sqlalchemy.engine import Engine

from nextcord_ormar import Bot
from nextcord_ormar.testing import LocalDiscord

from .common import (
    Json,
    Sizes,
    child_env,
    child_main,
    child_parser,
    fresh_database,
    median,
    run_child,
    write_project,
    write_result,
)

# nextcord_ormar.migrations (and so Alembic) is imported where it is used, not here: a
# first start (--first-start) must find it not imported, as a bot's process does.

RATIO_TARGET = 1.2
#: The environment variable that gives a first-start child its database URL.
URL_VARIABLE = "NXO_BENCH_STARTUP_URL"
ADDED_TARGET_S = 0.5


async def migrate(url: str, extensions: list[str]) -> None:
    """Make and apply every cog's first migration (a bot that is not started)."""
    from nextcord_ormar.migrations import MigrationEngine

    bot = Bot(database_url=url)
    for extension in extensions:
        bot.load_extension(extension)
    try:
        engine = MigrationEngine.for_bot(bot)
        for app in bot.registry.ordered():
            await engine.make(app)
        assert (await engine.upgrade()).ok
    finally:
        await bot.close()


async def check_cost(url: str, extensions: list[str]) -> Json:
    """Statements and process CPU time of ``engine.check()``: every app, and the first alone."""
    from nextcord_ormar.migrations import MigrationEngine

    bot = Bot(database_url=url)
    for extension in extensions:
        bot.load_extension(extension)
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    found: Json = {}
    try:
        await bot.connect_database()
        engine = MigrationEngine.for_bot(bot)
        first = bot.registry.ordered()[0].name
        await engine.check()  # the scripts are read once, the worker's engine connects
        for key, apps in (("check", None), ("check_one_app", [first])):
            seen.clear()
            sqlalchemy.event.listen(Engine, "before_cursor_execute", record)
            cpu = time.process_time()
            try:
                assert not (await engine.check(apps)).differing
            finally:
                sqlalchemy.event.remove(Engine, "before_cursor_execute", record)
            found[f"{key}_cpu_s"] = round(time.process_time() - cpu, 3)
            found[f"{key}_statements"] = len(seen)
    finally:
        await bot.close()
    return found


async def time_to_ready(url: str, extensions: list[str], policy: str) -> float:
    async with LocalDiscord(heartbeat_interval=1.0) as discord:
        owner = discord.create_user("owner")
        discord.create_guild("Bench HQ", owner=owner)
        discord.set_owner(owner)
        bot = Bot(
            database_url=url,
            intents=nextcord.Intents.default(),
            guild_ready_timeout=0.05,
            migrations=policy,
        )
        for extension in extensions:
            bot.load_extension(extension)
        start = time.perf_counter()
        async with discord.run_bot(bot, timeout=300.0, wait_for_commands=False):
            ready = time.perf_counter() - start
            assert not bot.held_cogs, bot.held_cogs  # all migrated: nothing held
        return ready


def first_start(url: str, project: Path, extensions: list[str], policy: str, out: Path) -> float:
    """Seconds from ``start()`` to ready for the first start of a fresh process."""
    env = child_env(project)
    env[URL_VARIABLE] = url  # not on the command line, where a password would show
    # With bytecode, as an installed package has it (pip compiles it): not every process
    # compiling this checkout's own modules. The first child writes what the others read.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    args = ["--first-start", policy, "--extensions", ",".join(extensions)]
    ready: float = run_child("startup", args, out, timeout=300, env=env)["ready_s"]
    return ready


async def measure(url: str, project: Path, sizes: Sizes) -> Json:
    cogs = {f"c{index:02d}": sizes.tables_per_cog for index in range(sizes.many_cogs)}
    extensions = write_project(project, url, cogs)
    sys.path.insert(0, str(project))
    await migrate(url, extensions)
    times: dict[str, list[float]] = {"off": [], "check": []}
    await time_to_ready(url, extensions, "off")  # warm-up: imports, the database's caches
    for _ in range(max(sizes.overhead_runs, 1)):
        for policy in ("off", "check"):
            times[policy].append(await time_to_ready(url, extensions, policy))
    cost = await check_cost(url, extensions)
    first: dict[str, list[float]] = {"off": [], "check": []}
    out = project.parent / "first-start-warm-up.json"
    first_start(url, project, extensions, "check", out)  # warm-up: the .pyc files, disk cache
    for run in range(max(sizes.overhead_runs, 1)):
        for policy in ("off", "check"):
            out = project.parent / f"first-start-{policy}-{run}.json"
            first[policy].append(first_start(url, project, extensions, policy, out))
    off, check = median(times["off"]), median(times["check"])
    ratio = round(check / off, 2) if off else 0.0
    added = round(check - off, 3)
    first_off, first_check = median(first["off"]), median(first["check"])
    first_added = round(first_check - first_off, 3)
    first_ratio = round(first_check / first_off, 2) if first_off else 0.0
    first_met = first_ratio <= RATIO_TARGET or first_added <= ADDED_TARGET_S
    return {
        "cogs": len(cogs),
        "tables": sum(cogs.values()),
        "runs": len(times["off"]),
        "off_s": round(off, 3),
        "check_s": round(check, 3),
        "added_s": added,
        "ratio": ratio,
        "first_off_s": round(first_off, 3),
        "first_check_s": round(first_check, 3),
        "first_added_s": first_added,
        "first_ratio": first_ratio,
        **cost,
        # met in one process and on a first start alike
        "met": (ratio <= RATIO_TARGET or added <= ADDED_TARGET_S) and first_met,
        "first_met": first_met,
        "target": f"<= {RATIO_TARGET}x or <= {ADDED_TARGET_S} s added",
    }


def first_start_main() -> None:
    """``--first-start POLICY --extensions a,b --result PATH`` (the URL in
    :data:`URL_VARIABLE`): one start, its time written as JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--first-start", choices=("off", "check"), required=True)
    parser.add_argument("--extensions", required=True)
    parser.add_argument("--result", required=True)
    args = parser.parse_args()
    extensions = args.extensions.split(",")
    assert "alembic" not in sys.modules  # what a bot's process has not imported either
    ready = asyncio.run(time_to_ready(os.environ[URL_VARIABLE], extensions, args.first_start))
    write_result(args.result, {"ready_s": ready})


def main() -> None:
    if "--first-start" in sys.argv:
        first_start_main()
        return
    parser: argparse.ArgumentParser = child_parser()

    def run(args: argparse.Namespace, sizes: Sizes, folder: Path) -> Json:
        with fresh_database(args.database, folder) as url:
            return asyncio.run(measure(url, folder / "project", sizes))

    child_main(run, parser)


if __name__ == "__main__":
    main()
