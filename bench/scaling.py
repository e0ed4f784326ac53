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
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from functools import partial
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
#: The environment variable that gives the engine child its databases: a JSON list of
#: ``[unrelated tables, URL]`` pairs.
URLS_VARIABLE = "NXO_BENCH_SCALING_URLS"


def time_command(
    cmd: list[str],
    cwd: Path,
    env: dict[str, str],
    runs: int,
    reset: Callable[[], None],
    warm_up: bool = True,
) -> list[float]:
    """Run ``cmd`` once to warm up (unless ``warm_up`` is false), then ``runs`` times;
    ``reset`` runs before each."""
    times = []
    for attempt in range(runs + 1 if warm_up else runs):
        reset()
        start = time.perf_counter()
        done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
        took = time.perf_counter() - start
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
            raise RuntimeError(f"{' '.join(cmd)} failed:\n" + "\n".join(tail))
        if attempt or not warm_up:
            times.append(took)
    return times


def ours(backend: str, sizes: Sizes, folder: Path) -> dict[int, Json]:
    """Our CLI and our engine's ``make`` with 0 and with ``sizes.unrelated_tables`` tables.

    Both databases exist side by side and the two sides take turns (ABBA: 0, n, n, 0, ...),
    CLI run by CLI run, and make by make in one engine child, so a drift of the machine
    (another process's burst, a slower spell of a shared virtual CPU) falls on both sides
    alike instead of on whichever side ran second.
    """
    n = sizes.unrelated_tables
    nxalembic = str(Path(sys.executable).parent / "nxalembic")
    with ExitStack() as stack:
        projects: dict[int, Path] = {}
        urls: dict[int, str] = {}
        for count in (0, n):
            urls[count] = stack.enter_context(fresh_database(backend, folder))
            project = folder / f"ours-{count}"
            write_project(project, urls[count], {APP: sizes.scaling_cog_tables})
            create_unrelated_tables(urls[count], count)
            projects[count] = project

        def turns(rounds: int) -> Iterator[int]:
            for index in range(rounds):
                yield from ((0, n) if index % 2 == 0 else (n, 0))

        def migrate(count: int, runs: int, warm_up: bool) -> list[float]:
            project = projects[count]
            command = [nxalembic, "migrate", "--app", APP]
            reset = partial(clear_versions, project)
            return time_command(command, project, child_env(project), runs, reset, warm_up)

        cli: dict[int, list[float]] = {0: [], n: []}
        for count in (0, n):  # a warm-up each, not counted
            migrate(count, 0, warm_up=True)
        for count in turns(sizes.scaling_runs):
            cli[count] += migrate(count, 1, warm_up=False)
        # The engine's make: one child, both databases, the sides taking turns make by make.
        env = child_env()
        env[URLS_VARIABLE] = json.dumps([[count, urls[count]] for count in (0, n)])
        engine = run_child(
            "scaling",
            ["--engine-child", str(projects[0]), "--runs", str(sizes.scaling_engine_runs)],
            folder / "engine.json",
            env=env,
        )
    sides = {side["unrelated"]: side for side in engine["sides"]}
    return {
        count: {
            "cli_s": median(cli[count]),
            "engine_s": median(sides[count]["times_s"]),
            "cpu_s": median(sides[count]["cpu_s"]),
        }
        for count in (0, n)
    }


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
    measured = ours(backend, sizes, folder)
    base, crowded = measured[0], measured[n]
    result: Json = {
        "unrelated_tables": n,
        "cog_tables": sizes.scaling_cog_tables,
        "runs": sizes.scaling_runs,
        "engine_runs": sizes.scaling_engine_runs,
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
    """In a process of its own: import the bot (for its registry) and time
    ``MigrationEngine.make`` of the app on each database of :data:`URLS_VARIABLE`, the
    databases taking turns make by make (ABBA), after a warm-up make on each."""
    import os

    os.chdir(project)
    sys.path.insert(0, str(project))
    import bot as bot_module  # type: ignore[import-not-found]

    from nextcord_ormar.connection import PlainDatabase
    from nextcord_ormar.migrations import MigrationEngine

    # The URLs come from the environment, never the command line (they hold a password).
    sides = [(int(count), url) for count, url in json.loads(os.environ[URLS_VARIABLE])]
    registry = bot_module.bot.registry
    engines = [MigrationEngine(PlainDatabase(url), registry) for _, url in sides]
    times: list[list[float]] = [[] for _ in sides]
    cpu: list[list[float]] = [[] for _ in sides]

    def make(index: int) -> tuple[float, float]:
        clear_versions(project)
        start, start_cpu = time.perf_counter(), time.process_time()
        made = asyncio.run(engines[index].make(APP))
        took, took_cpu = time.perf_counter() - start, time.process_time() - start_cpu
        if made.outcome != "written":
            raise RuntimeError(f"make did not write a migration: {made.outcome}")
        return took, took_cpu

    for index in range(len(sides)):  # warm-ups, not counted
        make(index)
    order = list(range(len(sides)))
    for attempt in range(runs):
        for index in order if attempt % 2 == 0 else order[::-1]:
            took, took_cpu = make(index)
            times[index].append(took)
            cpu[index].append(took_cpu)
    clear_versions(project)
    # CPU time of this process (all its threads): less swayed by other work on a shared
    # machine than wall time, but blind to the database server's share.
    write_result(
        result_path,
        {
            "sides": [
                {"unrelated": count, "times_s": times[index], "cpu_s": cpu[index]}
                for index, (count, _) in enumerate(sides)
            ]
        },
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
