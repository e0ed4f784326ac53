"""Figure 6: the backup before an upgrade, on a SQLite database of ``backup_mb`` megabytes.

A one-table app at 0001 is filled with rows until the file holds ``backup_mb`` MB; 0002 adds
a nullable column. Each run starts from a copy of that file and times ``upgrade`` with the
default SQLite policy (backup on) and with backups off, and ``MigrationEngine.backup`` alone.
The figure always uses SQLite: it measures the in-process copy, not a server's dump tool.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import sys
import time
from pathlib import Path

from .common import Json, Sizes, child_main, median, write_project

APP = "bulk"

MIGRATION = '''"""add note"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column({table!r}, sa.Column("note", sa.String(20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table({table!r}) as batch:
        batch.drop_column("note")
'''


def fill(path: Path, table: str, megabytes: int) -> int:
    """Insert rows into ``table`` until the file holds ``megabytes`` MB; the row count."""
    conn = sqlite3.connect(path)
    try:
        rows = 0
        while path.stat().st_size < megabytes * 1_000_000:
            conn.execute(
                f"INSERT INTO {table} (id, name, score) WITH RECURSIVE c(x) AS "
                f"(SELECT {rows + 1} UNION ALL SELECT x + 1 FROM c WHERE x < {rows + 100_000}) "
                "SELECT x, hex(randomblob(20)), x FROM c"
            )
            conn.commit()
            rows += 100_000
        return rows
    finally:
        conn.close()


def upgrade_seconds(bot: object, backups: object) -> tuple[float, object]:
    from nextcord_ormar.migrations import MigrationEngine

    engine = MigrationEngine.for_bot(bot, backups=backups)
    start = time.perf_counter()
    result = asyncio.run(engine.upgrade([APP]))
    seconds = time.perf_counter() - start
    if not result.ok or not result.steps:
        raise RuntimeError(f"upgrade failed: {result}")
    return seconds, result.backup


def run(sizes: Sizes, folder: Path) -> Json:
    from nextcord_ormar import database, registry
    from nextcord_ormar.migrations import Backups, MigrationEngine

    base = folder / "base.sqlite3"
    work = folder / "work.sqlite3"
    project = folder / "project"
    write_project(project, f"sqlite:///{work}", {APP: 1})
    sys.path.insert(0, str(project))
    os.chdir(project)
    asyncio.set_event_loop(asyncio.new_event_loop())  # nextcord 2.6's Client wants one
    import bot as bot_module  # type: ignore[import-not-found]

    bot = bot_module.bot
    table = registry.get(APP).tables[0].name
    engine = MigrationEngine.for_bot(bot, backups=False)
    made = asyncio.run(engine.make(APP))
    asyncio.run(engine.upgrade([APP]))
    if not made.written or made.path is None:
        raise RuntimeError(f"make failed: {made.outcome}")
    made.path.with_name("0002_add_note.py").write_text(MIGRATION.format(table=table))
    rows = fill(work, table, sizes.backup_mb)
    shutil.copyfile(work, base)
    kept = folder / "backups"
    on = Backups(enabled=True, folder=kept, keep=1)
    timings: dict[str, list[float]] = {"with": [], "without": [], "backup": []}
    for attempt in range(sizes.backup_runs + 1):  # the first round warms the page cache
        for key, policy in (("with", on), ("without", False)):
            shutil.copyfile(base, work)
            database.configure(f"sqlite:///{work}")
            seconds, backup = upgrade_seconds(bot, policy)
            if key == "with" and backup is None:
                raise RuntimeError("the upgrade took no backup")
            if attempt:
                timings[key].append(seconds)
        shutil.copyfile(base, work)
        start = time.perf_counter()
        asyncio.run(MigrationEngine.for_bot(bot, backups=on).backup())
        if attempt:
            timings["backup"].append(time.perf_counter() - start)
    with_s, without_s = median(timings["with"]), median(timings["without"])
    return {
        "database_mb": round(base.stat().st_size / 1_000_000, 1),
        "rows": rows,
        "runs": sizes.backup_runs,
        "backup_s": round(median(timings["backup"]), 3),
        "upgrade_with_backup_s": round(with_s, 3),
        "upgrade_without_backup_s": round(without_s, 3),
        "backup_share": round(max(with_s - without_s, 0.0) / with_s, 2),
    }


def main() -> None:
    child_main(lambda args, sizes, folder: run(sizes, folder))


if __name__ == "__main__":
    main()
