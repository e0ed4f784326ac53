"""Figure 3: making one small cog's migration with 0 and with many unrelated tables around.

Ours is timed two ways: ``nxalembic migrate --app shop`` end to end (comparable with the
original's ``nxalembic migrate``), and the engine's ``make`` alone, in one process. The
original 0.3.3 runs in its own virtual environment (see :mod:`bench.original`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from . import original
from .common import (
    Json,
    Sizes,
    child_env,
    clear_versions,
    create_unrelated_tables,
    fresh_database,
    median,
    run_child,
    write_project,
    write_result,
)

APP = "shop"


def time_command(
    cmd: list[str], cwd: Path, env: dict[str, str], runs: int, reset: Callable[[], None]
) -> list[float]:
    """Run ``cmd`` once to warm up, then ``runs`` times; ``reset`` runs before each."""
    times = []
    for attempt in range(runs + 1):
        reset()
        start = time.perf_counter()
        done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
        took = time.perf_counter() - start
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
            raise RuntimeError(f"{' '.join(cmd)} failed:\n" + "\n".join(tail))
        if attempt:
            times.append(took)
    return times


def ours(backend: str, unrelated: int, sizes: Sizes, folder: Path) -> Json:
    nxalembic = str(Path(sys.executable).parent / "nxalembic")
    with fresh_database(backend, folder) as url:
        project = folder / f"ours-{unrelated}"
        write_project(project, url, {APP: sizes.scaling_cog_tables})
        create_unrelated_tables(url, unrelated)
        cli = time_command(
            [nxalembic, "migrate", "--app", APP],
            project,
            child_env(project),
            sizes.scaling_runs,
            lambda: clear_versions(project),
        )
        engine = run_child(
            "scaling",
            ["--engine-child", str(project), "--runs", str(sizes.scaling_runs)],
            folder / f"engine-{unrelated}.json",
        )
    return {"cli_s": median(cli), "engine_s": engine["median_s"], "cpu_s": engine["cpu_median_s"]}


def theirs(unrelated: int, sizes: Sizes, folder: Path, bin_dir: Path) -> float:
    project = folder / f"original-{unrelated}"
    url = f"sqlite:///{project / 'bot.sqlite3'}"
    original.write_project(project, url, APP, sizes.scaling_cog_tables)
    create_unrelated_tables(url, unrelated)
    cmd, env = original.migrate_command(bin_dir, APP)
    return median(
        time_command(cmd, project, env, sizes.scaling_runs, lambda: clear_versions(project))
    )


def run(backend: str, sizes: Sizes, folder: Path, with_original: bool) -> Json:
    n = sizes.unrelated_tables
    base, crowded = ours(backend, 0, sizes, folder), ours(backend, n, sizes, folder)
    result: Json = {
        "unrelated_tables": n,
        "cog_tables": sizes.scaling_cog_tables,
        "runs": sizes.scaling_runs,
        "ours_cli_0_s": round(base["cli_s"], 3),
        f"ours_cli_{n}_s": round(crowded["cli_s"], 3),
        "ours_cli_ratio": round(crowded["cli_s"] / base["cli_s"], 2),
        "ours_engine_0_s": round(base["engine_s"], 4),
        f"ours_engine_{n}_s": round(crowded["engine_s"], 4),
        "ours_engine_ratio": round(crowded["engine_s"] / base["engine_s"], 2),
        "ours_engine_cpu_0_s": round(base["cpu_s"], 4),
        f"ours_engine_cpu_{n}_s": round(crowded["cpu_s"], 4),
        "ours_engine_cpu_ratio": round(crowded["cpu_s"] / base["cpu_s"], 2),
    }
    if not with_original:
        result["original"] = "skipped"
    elif backend != "sqlite":
        result["original"] = "unavailable: the bench runs 0.3.3 on SQLite only"
    else:
        try:
            bin_dir = original.ensure_venv()
            zero, many = theirs(0, sizes, folder, bin_dir), theirs(n, sizes, folder, bin_dir)
        except (original.Unavailable, RuntimeError) as exc:
            result["original"] = f"unavailable: {str(exc).splitlines()[0]}"
        else:
            result["original"] = {
                "version": original.REQUIREMENT,
                "cli_0_s": round(zero, 3),
                f"cli_{n}_s": round(many, 3),
                "cli_ratio": round(many / zero, 2),
            }
    return result


def engine_child(project: Path, runs: int, result_path: str) -> None:
    """In a process of its own: import the bot, time ``MigrationEngine.make`` for the app."""
    import os

    os.chdir(project)
    sys.path.insert(0, str(project))
    import bot as bot_module  # type: ignore[import-not-found]

    from nextcord_ormar.migrations import MigrationEngine

    engine = MigrationEngine.for_bot(bot_module.bot)
    times, cpu = [], []
    for attempt in range(runs + 1):
        clear_versions(project)
        start, start_cpu = time.perf_counter(), time.process_time()
        made = asyncio.run(engine.make(APP))
        took, took_cpu = time.perf_counter() - start, time.process_time() - start_cpu
        if made.outcome != "written":
            raise RuntimeError(f"make did not write a migration: {made.outcome}")
        if attempt:
            times.append(took)
            cpu.append(took_cpu)
    clear_versions(project)
    # CPU time of this process (all its threads): less swayed by other work on a shared
    # machine than wall time, but blind to the database server's share.
    write_result(
        result_path, {"median_s": median(times), "times_s": times, "cpu_median_s": median(cpu)}
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine-child", type=Path)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--database", default="sqlite")
    parser.add_argument("--sizes")
    parser.add_argument("--original", action="store_true")
    parser.add_argument("--result", required=True)
    args = parser.parse_args()
    if args.engine_child:
        engine_child(args.engine_child, args.runs, args.result)
        return
    sizes = Sizes.from_json(json.loads(args.sizes))
    with tempfile.TemporaryDirectory(prefix="nxo-bench-") as tmp:
        write_result(args.result, run(args.database, sizes, Path(tmp), args.original))


if __name__ == "__main__":
    main()
