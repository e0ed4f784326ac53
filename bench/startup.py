"""Figure: time from ``bot.start()`` to ready with the start-up policy ``check`` against ``off``.

A bot project of many cogs (``many_cogs`` times ``tables_per_cog``), all migrated, so ``check``
finds every cog current and holds none: what the policy costs on a normal start. Each run
starts a fresh bot against the local Discord and stops it; ``off`` and ``check`` alternate,
and the medians are compared (target: at most 1.2x, or at most 0.5 s added).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

import nextcord

from nextcord_ormar import Bot
from nextcord_ormar.migrations import MigrationEngine
from nextcord_ormar.testing import LocalDiscord

from .common import Json, Sizes, child_main, child_parser, fresh_database, median, write_project

RATIO_TARGET = 1.2
ADDED_TARGET_S = 0.5


async def migrate(url: str, extensions: list[str]) -> None:
    """Make and apply every cog's first migration (a bot that is not started)."""
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
    off, check = median(times["off"]), median(times["check"])
    ratio = round(check / off, 2) if off else 0.0
    added = round(check - off, 3)
    return {
        "cogs": len(cogs),
        "tables": sum(cogs.values()),
        "runs": len(times["off"]),
        "off_s": round(off, 3),
        "check_s": round(check, 3),
        "added_s": added,
        "ratio": ratio,
        "met": ratio <= RATIO_TARGET or added <= ADDED_TARGET_S,
        "target": f"<= {RATIO_TARGET}x or <= {ADDED_TARGET_S} s added",
    }


def main() -> None:
    parser: argparse.ArgumentParser = child_parser()

    def run(args: argparse.Namespace, sizes: Sizes, folder: Path) -> Json:
        with fresh_database(args.database, folder) as url:
            return asyncio.run(measure(url, folder / "project", sizes))

    child_main(run, parser)


if __name__ == "__main__":
    main()
