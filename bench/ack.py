"""Figure 2: time from an interaction sent to the bot to its first response.

Idle: ``/migrate show`` and ``/migrate check`` one after another. Busy: the same while a slow
``/migrate upgrade`` holds the cog's write lock (its migration burns CPU in Python for a few
seconds, like a heavy data migration), plus ``/migrate make``, which must answer "busy" at once.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import time
from pathlib import Path

from nextcord_ormar.testing import InteractionHandle

from .common import (
    Json,
    Sizes,
    child_main,
    cog_name,
    fresh_database,
    ms,
    percentile,
    write_project,
)
from .scene import BotScene, ack_seconds, check_ok, running_bot, wait_final, wait_text

TIMEOUT = 120.0
APP = "shop"

SLOW_UPGRADE = """def upgrade() -> None:
    import time

    end = time.monotonic() + {seconds}
    total = 0
    while time.monotonic() < end:  # a heavy data migration, in plain Python
        total += sum(i * i for i in range(1000))
"""


def summary(handles: list[InteractionHandle]) -> Json:
    acks = [a for a in (ack_seconds(h) for h in handles) if a is not None]
    return {
        "n": len(acks),
        "p50_ms": ms(percentile(acks, 50)),
        "p99_ms": ms(percentile(acks, 99)),
        "max_ms": ms(max(acks, default=0.0)),
    }


async def command(scene: BotScene, name: str, options: Json | None = None) -> InteractionHandle:
    handle = await scene.slash(name, options)
    check_ok(handle, await wait_final(handle, TIMEOUT))
    return handle


async def make_slow_migration(scene: BotScene, project: Path, seconds: float) -> None:
    await command(scene, "migrate make", {"cog": cog_name(APP), "empty": True, "message": "slow"})
    (script,) = (project / "cogs" / APP / "migrations").glob("0002_*.py")
    text = script.read_text(encoding="utf-8")
    body = SLOW_UPGRADE.format(seconds=seconds)
    script.write_text(re.sub(r"def upgrade\(\) -> None:\n    pass\n", body, text), "utf-8")


async def measure(url: str, project: Path, sizes: Sizes) -> Json:
    extensions = write_project(project, url, {APP: sizes.scaling_cog_tables})
    async with running_bot(
        url,
        project,
        extensions,
        heartbeat_interval=sizes.heartbeat_interval,
        probe_interval=sizes.probe_interval,
    ) as scene:
        await command(scene, "migrate make", {"cog": cog_name(APP)})
        await wait_text(await scene.slash("migrate upgrade"), "Upgrade done", TIMEOUT)

        idle: list[InteractionHandle] = []
        for _ in range(sizes.ack_invocations):
            idle.append(await command(scene, "migrate show"))
            idle.append(await command(scene, "migrate check"))

        await make_slow_migration(scene, project, sizes.busy_seconds)
        slow = await scene.slash("migrate upgrade")
        await slow.wait_acknowledged(timeout=TIMEOUT)
        start = time.monotonic()
        reads: list[InteractionHandle] = []
        writes: list[InteractionHandle] = []
        # Spread the invocations over the first part of the slow upgrade; reads are only
        # waited on until acknowledged (their results come after the upgrade lets go).
        spacing = sizes.busy_seconds * 0.6 / max(1, sizes.busy_invocations)
        for _ in range(sizes.busy_invocations):
            if slow.final is not None and "Upgrade done" in slow.replies[-1].text:
                break
            for name in ("migrate show", "migrate check"):
                handle = await scene.slash(name)
                await handle.wait_acknowledged(timeout=TIMEOUT)
                reads.append(handle)
            write = await scene.slash("migrate make", {"cog": cog_name(APP)})
            reply = await wait_final(write, TIMEOUT)
            if not (reply.content or "").startswith("busy"):
                raise RuntimeError(f"a second write was not refused as busy: {reply.text[:200]}")
            writes.append(write)
            await asyncio.sleep(spacing)
        await wait_text(slow, "Upgrade done", TIMEOUT + sizes.busy_seconds)
        end = time.monotonic()
        for handle in reads:
            check_ok(handle, await wait_final(handle, TIMEOUT))
        # Only what was sent while the slow upgrade still ran counts as "busy".
        finished = slow.replies[-1].at
        reads = [h for h in reads if h.created_at < finished]
        writes = [h for h in writes if h.created_at < finished]
        return {
            "idle": summary(idle),
            "busy_reads": summary(reads),
            "busy_writes": summary(writes),
            "slow_upgrade_ack_ms": ms(ack_seconds(slow) or 0.0),
            "busy_window_s": round(end - start, 2),
            "busy_max_lag_ms": scene.probe.summary(start, end)["max_lag_ms"],
        }


def main() -> None:
    def run(args: argparse.Namespace, sizes: Sizes, folder: Path) -> Json:
        with fresh_database(args.database, folder) as url:
            return asyncio.run(measure(url, folder / "project", sizes))

    child_main(run)


if __name__ == "__main__":
    main()
