"""``nxalembic migrate --replay`` against ``nxalembic migrate`` (a figure of ``python -m bench``).

A cog of ``replay_tables`` tables (20) made in ``replay_migrations`` migrations (10), applied
to the live database; then one model change, and the time of each way of making the next
migration: the real ``nxalembic`` as a subprocess, the two taking turns, median of
``replay_runs`` (3), the written file removed after each. ``--replay`` adds replaying the
app's scripts into a scratch database of the same dialect, created and dropped by the command.

    python -m bench --only replay [--database sqlite|postgresql|mysql]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from tests.cli.project import BotProject
from tests.cli.test_replay import allow_scratch_databases
from tests.databases import fresh_database

from .common import Json, Sizes, child_main


def cog_source(tables: int, changed: bool) -> str:
    body = ""
    for index in range(tables):
        body += (
            f"class Model{index}(AppModel):\n"
            "    ormar_config = app.config()\n"
            "    id: int = ormar.Integer(primary_key=True)\n"
            "    name: str = ormar.String(max_length=40, nullable=True)\n"
        )
        if changed and index == 0:
            body += "    extra: int = ormar.Integer(nullable=True)\n"
        body += "\n\n"
    return body


def timed(project: BotProject, migrations: int, *args: str) -> float:
    start = time.perf_counter()
    project.ok(*args)
    elapsed = time.perf_counter() - start
    for path in (project.root / "cogs/big/migrations").glob(f"{migrations + 1:04d}_*.py"):
        path.unlink()
    return elapsed


def measure(args: argparse.Namespace, sizes: Sizes, folder: Path) -> Json:
    tables, migrations = sizes.replay_tables, sizes.replay_migrations
    with fresh_database(args.database, folder) as url:
        project = BotProject(folder / "bot", url)
        project.write_ini()
        project.write_bot("cogs.big")
        allow_scratch_databases(project)
        per = max(1, tables // migrations)
        for step in range(1, migrations + 1):
            project.write_cog("big", cog_source(min(tables, step * per), False))
            project.ok("migrate")
            project.ok("upgrade")
        project.write_cog("big", cog_source(tables, True))
        runs: dict[str, list[float]] = {"migrate": [], "replay": []}
        for _ in range(sizes.replay_runs):
            runs["migrate"].append(timed(project, migrations, "migrate"))
            runs["replay"].append(timed(project, migrations, "migrate", "--replay"))
    plain, replay = statistics.median(runs["migrate"]), statistics.median(runs["replay"])
    return {
        "tables": tables,
        "migrations": migrations,
        "runs": sizes.replay_runs,
        "migrate_s": round(plain, 3),
        "migrate_replay_s": round(replay, 3),
        "ratio": round(replay / plain, 2),
    }


if __name__ == "__main__":
    child_main(measure)
