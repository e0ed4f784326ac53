"""README promises checked where the user meets them: what ``nxalembic`` prints.

Each test fails when its promise is broken on purpose (``python3 dev.py mutate``): the
tamper flag in ``check``, ``upgrade`` waiting for another process's migration and saying so,
and the warnings ``migrate`` prints for a narrowed type and for a NOT NULL column added to a
table that has rows. Runs on all three databases.
"""

from __future__ import annotations

import asyncio
import fcntl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy.ext.asyncio import create_async_engine

from nextcord_ormar import normalize_url
from nextcord_ormar.migrations.locking import advisory_key, lock_name
from tests.cli.project import BotProject

MEMBERS = """
class Member(AppModel):
    ormar_config = app.config()
    id: int = ormar.Integer(primary_key=True, autoincrement=False)
    name: str = ormar.String(max_length={length})
{extra}"""


def members(length: int = 120, extra: str = "") -> str:
    return MEMBERS.format(length=length, extra=extra)


def test_check_flags_a_script_edited_after_it_ran(project: BotProject) -> None:
    project.write_cog("economy", members())
    project.write_bot("cogs.economy")
    project.ok("migrate")
    project.ok("upgrade")
    assert project.ok("check").out.splitlines() == ["economy: up to date"]
    (name,) = project.migrations("economy")
    script = project.root / "cogs" / "economy" / "migrations" / name
    script.write_text(script.read_text() + "\n# edited after it ran\n")

    run = project.nx("check")
    assert run.code == 1, run
    assert "economy: changed after they were applied: 0001" in run.out, run


@contextmanager
def migration_lock_held(db_url: str) -> Iterator[None]:
    """Hold the database's migration lock from this process, as another migration would."""
    url = normalize_url(db_url)
    name = lock_name(url.database or "")
    if url.get_backend_name() == "sqlite":
        path = Path(url.database or "").resolve()
        with path.with_name(path.name + ".nxo-lock").open("a+") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            yield
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return
    held, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    async def hold() -> None:
        engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as conn:
                if url.get_backend_name() == "postgresql":
                    take = sqlalchemy.text("SELECT pg_advisory_lock(:k)")
                    await conn.execute(take, {"k": advisory_key(name)})
                else:
                    got = await conn.execute(
                        sqlalchemy.text("SELECT GET_LOCK(:k, 10)"), {"k": name}
                    )
                    assert got.scalar() == 1
                held.set()
                while not release.is_set():
                    await asyncio.sleep(0.02)
        finally:
            await engine.dispose()

    def run() -> None:
        try:
            asyncio.run(hold())
        except BaseException as exc:
            errors.append(exc)
            held.set()

    thread = threading.Thread(target=run)
    thread.start()
    try:
        assert held.wait(30), "could not take the lock"
        assert not errors, errors
        yield
    finally:
        release.set()
        thread.join(30)
    assert not errors, errors


def test_upgrade_waits_for_another_migration_and_says_so(project: BotProject) -> None:
    project.write_cog("economy", members())
    project.write_bot("cogs.economy")
    project.ok("migrate")
    with migration_lock_held(project.db_url):
        upgrade = project.start("upgrade", "--lock-timeout", "120")
        deadline = time.monotonic() + 60
        while "waiting" not in upgrade.stderr():
            if upgrade.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"upgrade did not wait for the lock:\n{upgrade.finish(10)}")
            time.sleep(0.05)
        assert upgrade.process.poll() is None  # still waiting
        assert project.version("economy") is None  # and nothing applied meanwhile
    run = upgrade.finish()
    assert run.code == 0, run
    assert run.err.startswith(
        "nxalembic: another migration is running on this database; waiting up to 120 s"
    ), run
    assert "economy: base -> 0001" in run.out, run
    assert project.version("economy") == "0001"


def test_migrate_warns_about_narrowed_types_and_not_null_columns_on_full_tables(
    project: BotProject,
) -> None:
    project.write_cog("economy", members(120))
    project.write_bot("cogs.economy")
    project.ok("migrate")
    project.ok("upgrade")
    project.execute("INSERT INTO economy_members (id, name) VALUES (1, 'ada')")

    project.write_cog("economy", members(20))
    narrowed = project.ok("migrate")
    assert (
        "  warning: narrows economy_members.name from VARCHAR(120) to VARCHAR(20): "
        "existing values may not fit"
    ) in narrowed.out.splitlines(), narrowed
    project.ok("upgrade", "--yes")  # narrowing may lose data: upgrade asks first

    project.write_cog("economy", members(20, "    rank: int = ormar.Integer(nullable=False)\n"))
    not_null = project.ok("migrate")
    assert (
        "  warning: adds NOT NULL column economy_members.rank without a server default to a "
        "table that has rows: the upgrade will fail; give the field a server_default or make "
        "it nullable"
    ) in not_null.out.splitlines(), not_null
