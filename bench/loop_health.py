"""Figure 1: event-loop health while ``/migrate make`` and ``/migrate upgrade`` run in the bot.

One child process per (layout, mode, run): ``big`` is one cog with many tables, ``many`` is
many cogs of a few tables. ``thread`` is the engine's default (Alembic in a worker thread);
``loop`` runs Alembic through ``run_sync`` on the bot's own loop, as the original library
ran it synchronously on the loop. Each (layout, mode) runs ``Sizes.loop_runs`` times, in
turns (layout by layout, the modes alternating), and :func:`distribution` reports the
per-run maxima (median and max) and p99s: a rare stall shows in the max, a cost paid every
time in the median and the p99.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time
from collections.abc import Callable
from pathlib import Path

from .common import (
    Json,
    Sizes,
    child_main,
    child_parser,
    cog_name,
    fresh_database,
    median,
    ms,
    percentile,
    write_project,
)
from .compile_watch import CompileWatch
from .scene import ack_seconds, check_ok, running_bot, wait_final, wait_text

TIMEOUT = 400.0


def layout_cogs(layout: str, sizes: Sizes) -> dict[str, int]:
    if layout == "big":
        return {"big": sizes.big_cog_tables}
    return {f"c{index:02d}": sizes.tables_per_cog for index in range(sizes.many_cogs)}


async def measure(url: str, project: Path, layout: str, mode: str, sizes: Sizes) -> Json:
    cogs = layout_cogs(layout, sizes)
    extensions = write_project(project, url, cogs)
    async with running_bot(
        url,
        project,
        extensions,
        heartbeat_interval=sizes.heartbeat_interval,
        probe_interval=sizes.probe_interval,
    ) as scene:
        if mode == "loop":
            scene.use_loop_engine()
        if mode == "thread-gc-frozen":
            # What a bot could do once ready: move everything alive now out of the
            # collector's sight, so that full collections stay short.
            gc.collect()
            gc.freeze()
        # A quiet stretch first: what the harness itself costs with the bot idle.
        idle_start = time.monotonic()
        await asyncio.sleep(1.0)
        idle_end = time.monotonic()

        with CompileWatch() as compiles:
            start = time.monotonic()
            for app in cogs:
                handle = await scene.slash("migrate make", {"cog": cog_name(app)})
                check_ok(handle, await wait_final(handle, TIMEOUT))
            made = time.monotonic()
            handle = await scene.slash("migrate upgrade")
            await wait_text(handle, "Upgrade done", TIMEOUT)
            end = time.monotonic()
        await asyncio.sleep(2 * sizes.heartbeat_interval)  # the heartbeat after the work
        # What the work left in the oldest generation is scanned by the next full
        # collection, on whichever thread allocates, often after this window. Time that
        # collection here, on the loop, so the pause the bot pays later is seen (it is not
        # part of the lags above).
        collected = time.perf_counter()
        gc.collect()
        gc_after_work = time.perf_counter() - collected

        acks = [a for a in (ack_seconds(h) for h in scene.handles) if a is not None]
        work = scene.probe.summary(start, end)
        return {
            "layout": layout,
            "mode": mode,
            "cogs": len(cogs),
            "tables": sum(cogs.values()),
            "make_s": round(made - start, 2),
            "upgrade_s": round(end - made, 2),
            **work,
            **scene.gc_watch.summary(start, end),
            **compiles.summary(start, end),
            "max_heartbeat_gap_ms": ms(scene.heartbeat_gap(start, end)),
            "heartbeat_interval_ms": ms(sizes.heartbeat_interval),
            "idle_max_lag_ms": scene.probe.summary(idle_start, idle_end)["max_lag_ms"],
            "idle_max_heartbeat_gap_ms": ms(scene.heartbeat_gap(idle_start, idle_end)),
            "ack_p50_ms": ms(percentile(acks, 50)),
            "ack_max_ms": ms(max(acks, default=0.0)),
            "gc_after_work_ms": ms(gc_after_work),
        }


MODES = ("thread", "loop")
LAYOUTS = ("big", "many")


def distribution(runs: list[Json]) -> Json:
    """The per-run figures of one (layout, mode): maxima and p99s over its runs."""
    maxima = [run["max_lag_ms"] for run in runs]
    p99s = [run["p99_lag_ms"] for run in runs]
    worst = max(runs, key=lambda run: run["max_lag_ms"])
    return {
        "runs": len(runs),
        "tables": runs[0]["tables"],
        "cogs": runs[0]["cogs"],
        "max_lag_ms": max(maxima),
        "median_max_lag_ms": round(median(maxima), 1),
        "median_p99_lag_ms": round(median(p99s), 1),
        "max_p99_lag_ms": max(p99s),
        "maxima_ms": maxima,
        # the worst wake-up of all runs: the CPU the process used while the loop waited,
        # and how long the loop's thread waited for a CPU meanwhile (see scene.LagProbe)
        "worst_cpu_ms": worst["max_lag_cpu_ms"],
        "worst_cpu_wait_ms": worst["max_lag_cpu_wait_ms"],
        "max_busy_lag_ms": max(run["max_busy_lag_ms"] for run in runs),
        "lags_over_10ms": sum(run["lags_over_10ms"] for run in runs),
        "lags_over_10ms_busy": sum(run["lags_over_10ms_busy"] for run in runs),
        "lags_over_10ms_starved": sum(run["lags_over_10ms_starved"] for run in runs),
        "max_heartbeat_gap_ms": max(run["max_heartbeat_gap_ms"] for run in runs),
        "max_gc_pause_ms": max(run["max_gc_pause_ms"] for run in runs),
        "max_gc_after_work_ms": max(run["gc_after_work_ms"] for run in runs),
        "median_long_compiles": median([run["long_compiles"] for run in runs]),
        "longest_compile_ms": max(run["longest_compile_ms"] for run in runs),
        "median_make_s": median([run["make_s"] for run in runs]),
        "median_upgrade_s": median([run["upgrade_s"] for run in runs]),
    }


def run_all(sizes: Sizes, run: Callable[[str, str, int], Json]) -> Json:
    """``run(layout, mode, index)`` for every run, then each (layout, mode)'s distribution."""
    done: dict[str, list[Json]] = {f"{layout}_{mode}": [] for layout in LAYOUTS for mode in MODES}
    for layout in LAYOUTS:
        for index in range(sizes.loop_runs):
            for mode in MODES:
                done[f"{layout}_{mode}"].append(run(layout, mode, index))
    return {key: {**distribution(runs), "each": runs} for key, runs in done.items()}


def main() -> None:
    parser = child_parser()
    parser.add_argument("--layout", choices=["big", "many"], required=True)
    parser.add_argument("--mode", choices=["thread", "loop", "thread-gc-frozen"], required=True)

    def run(args: argparse.Namespace, sizes: Sizes, folder: Path) -> Json:
        with fresh_database(args.database, folder) as url:
            return asyncio.run(measure(url, folder / "project", args.layout, args.mode, sizes))

    child_main(run, parser)


if __name__ == "__main__":
    main()
