"""``nxalembic migrate --replay`` against ``nxalembic migrate`` on each database.

A cog of 20 tables made in 10 migrations (two tables each), applied to the live database;
then one model change, and the time of each way of making the next migration (the real
``nxalembic`` as a subprocess; median of 3 runs, the written file removed after each).

    python -m bench.replay [--database sqlite|postgresql|mysql ...]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from tests.cli.project import BotProject
from tests.cli.test_replay import allow_scratch_databases
from tests.databases import BACKENDS, fresh_database

TABLES = 20
MIGRATIONS = 10


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


def timed(project: BotProject, *args: str) -> float:
    start = time.perf_counter()
    project.ok(*args)
    elapsed = time.perf_counter() - start
    for path in (project.root / "cogs/big/migrations").glob(f"{MIGRATIONS + 1:04d}_*.py"):
        path.unlink()
    return elapsed


def measure(backend: str, folder: Path) -> dict[str, float]:
    with fresh_database(backend, folder) as url:
        project = BotProject(folder / "bot", url)
        project.write_ini()
        project.write_bot("cogs.big")
        allow_scratch_databases(project)
        per = TABLES // MIGRATIONS
        for step in range(1, MIGRATIONS + 1):
            project.write_cog("big", cog_source(step * per, False))
            project.ok("migrate")
            project.ok("upgrade")
        project.write_cog("big", cog_source(TABLES, True))
        runs = {"migrate": [], "migrate --replay": []}
        for _ in range(3):
            runs["migrate"].append(timed(project, "migrate"))
            runs["migrate --replay"].append(timed(project, "migrate", "--replay"))
        return {way: statistics.median(times) for way, times in runs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", action="append", choices=BACKENDS)
    args = parser.parse_args()
    results = {}
    for backend in args.database or BACKENDS:
        with tempfile.TemporaryDirectory() as tmp:
            figures = measure(backend, Path(tmp))
        ratio = figures["migrate --replay"] / figures["migrate"]
        results[backend] = {**figures, "ratio": ratio}
        print(
            f"{backend:10} migrate {figures['migrate']:.2f} s, migrate --replay "
            f"{figures['migrate --replay']:.2f} s ({ratio:.2f}x)",
            flush=True,
        )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
