"""Locks, transactions, honest failure state, tamper checks, bad input: the engine under stress."""

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy.ext.asyncio import create_async_engine

from nextcord_ormar import Bot, normalize_url
from nextcord_ormar.migrations import InvalidMessageError, MigrationEngine, UnknownRevisionError
from nextcord_ormar.migrations.ledger import LEDGER_TABLE
from tests.conftest import CogProject
from tests.discord_harness import running_bot, table_names
from tests.sample_cogs import change_wallet, write_cogs

FAILING_STEP = '''"""fails halfway"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("economy_halfway", sa.Column("id", sa.Integer, primary_key=True))
    op.execute("SELECT no_such_column FROM no_such_table")


def downgrade() -> None:
    op.drop_table("economy_halfway")
'''


async def _scalar(db_url: str, sql: str) -> object:
    engine = create_async_engine(normalize_url(db_url))
    try:
        async with engine.connect() as conn:
            return (await conn.execute(sqlalchemy.text(sql))).scalar()
    finally:
        await engine.dispose()


async def test_a_migration_failing_halfway_reports_the_state_the_database_is_in(
    db_url: str, backend: str, cog_project: CogProject
) -> None:
    write_cogs(cog_project, moderation=False)
    bot = Bot(database_url=db_url)
    bot.load_extension("cogs.economy")
    engine = MigrationEngine.for_bot(bot)
    try:
        made = await engine.make("economy")
        assert made.path is not None
        made.path.with_name("0002_fails_halfway.py").write_text(FAILING_STEP)

        result = await engine.upgrade()
        run = result.failed
        assert run is not None
        assert run.failed_revision == "0002"
        assert [s.revision for s in run.steps] == ["0001"]
        assert run.after == "0001"
        assert await _scalar(db_url, "SELECT version_num FROM alembic_version_economy") == "0001"
        tables = await table_names(db_url)
        assert "economy_wallets" in tables
        if backend == "mysql":
            # no transactional DDL: the report names what ran and stays
            assert run.rolled_back is False
            assert any("CREATE TABLE economy_halfway" in s for s in run.statements_run)
            assert "economy_halfway" in tables
        else:
            assert run.rolled_back is True
            assert run.statements_run == []
            assert "economy_halfway" not in tables
        recorded = await _scalar(db_url, f"SELECT COUNT(*) FROM {LEDGER_TABLE}")
        assert recorded == 1  # 0001 only
    finally:
        await bot.close()


async def test_a_script_edited_after_it_ran_is_flagged(
    db_url: str, cog_project: CogProject
) -> None:
    write_cogs(cog_project, moderation=False)
    bot = Bot(database_url=db_url)
    bot.load_extension("cogs.economy")
    engine = MigrationEngine.for_bot(bot)
    try:
        made = await engine.make("economy")
        await engine.upgrade()
        assert (await engine.check()).ok
        assert made.path is not None
        made.path.write_text(made.path.read_text() + "\n# edited later\n")
        status = (await engine.status(["economy"]))[0]
        assert status.tampered == ["0001"]
        assert not (await engine.check()).ok
    finally:
        await bot.close()


@pytest.mark.parametrize(
    "message",
    ["../../../etc/passwd", "a/b\\c", "..", "💥 boom\x00\x1b[31m\u202e", "   ", ""],
)
async def test_hostile_messages_give_safe_names_inside_the_versions_folder(
    db_url: str, cog_project: CogProject, message: str
) -> None:
    write_cogs(cog_project, moderation=False)
    bot = Bot(database_url=db_url)
    bot.load_extension("cogs.economy")
    engine = MigrationEngine.for_bot(bot)
    try:
        before = {p for p in cog_project.root.rglob("*") if p.is_file()}
        made = await engine.make("economy", message=message)
        assert made.path is not None
        folder = (cog_project.root / "cogs" / "economy" / "migrations").resolve()
        assert made.path.resolve().parent == folder
        assert made.path.name.startswith("0001_")
        stem = made.path.stem.removeprefix("0001_")
        assert stem
        assert all(c.isascii() and (c.isalnum() or c == "_") for c in stem)
        compile(made.path.read_text(), str(made.path), "exec")  # still valid Python
        added = {p for p in cog_project.root.rglob("*") if p.is_file()} - before
        assert {p.resolve().parent for p in added if p.suffix == ".py"} == {folder}
    finally:
        await bot.close()


async def test_too_long_messages_and_unknown_revisions_are_clear_errors(
    db_url: str, cog_project: CogProject
) -> None:
    write_cogs(cog_project, moderation=False)
    bot = Bot(database_url=db_url)
    bot.load_extension("cogs.economy")
    engine = MigrationEngine.for_bot(bot)
    try:
        with pytest.raises(InvalidMessageError, match="10000 characters long"):
            await engine.make("economy", message="x" * 10_000)
        first = await engine.make("economy", message="same")
        second = await engine.make("economy", message="same", empty=True)
        assert first.path != second.path
        assert (first.path, second.path) == (
            first.path and first.path.with_name("0001_same.py"),
            second.path and second.path.with_name("0002_same.py"),
        )
        with pytest.raises(UnknownRevisionError, match="has no revision '0099'"):
            await engine.upgrade(["economy"], "0099")
        with pytest.raises(UnknownRevisionError, match="its revisions: 0001, 0002"):
            await engine.show("economy", "../0001")
    finally:
        await bot.close()


RACER = """
import asyncio, json, os, sys, time
from pathlib import Path

from nextcord_ormar import Bot
from nextcord_ormar.migrations import MigrationEngine

bot = Bot(database_url=os.environ["RACE_DB"])
bot.load_extension("cogs.race")
ROUNDS = int(os.environ["RACE_ROUNDS"])
here = Path(os.environ["RACE_DIR"])


async def main() -> None:
    engine = MigrationEngine.for_bot(bot, in_thread=False, lock_timeout=30)
    applied, waits = [], 0
    for number in range(1, ROUNDS + 1):
        go = here / f"round{number}.go"
        while not go.exists():
            await asyncio.sleep(0.01)
        result = await engine.upgrade(["race"])
        if not result.ok:
            print(json.dumps({"error": result.failed.error}))
            sys.exit(1)
        applied += [s.revision for s in result.steps]
        (here / f"round{number}.{os.getpid()}").write_text("done")
    await bot.disconnect_database()
    print(json.dumps({"applied": applied}))


asyncio.run(main())
"""

RACE_COG = """
import ormar
from nextcord.ext import commands
from nextcord_ormar import AppModel, OrmarApp

app = OrmarApp.create_app("race")


class Race(commands.Cog):
    pass


def setup(bot):
    bot.add_cog(Race())
"""

RACE_STEP = '''"""round {n}"""

import time

import sqlalchemy as sa
from alembic import op

revision = "{rev}"
down_revision = {down!r}
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Long enough that the other racer, started within milliseconds, would overlap it
    # without the migration lock (and fail on the table this one creates).
    time.sleep(0.2)
    op.create_table("race_t{n}", sa.Column("id", sa.Integer, primary_key=True))


def downgrade() -> None:
    op.drop_table("race_t{n}")
'''


def _stop(racers: list[subprocess.Popen[str]]) -> str:
    """Kill the racers still running and return what every racer printed (bounded waits)."""
    for racer in racers:
        if racer.poll() is None:
            racer.kill()
    texts = []
    for racer in racers:
        try:
            out, err = racer.communicate(timeout=10)
        except (subprocess.TimeoutExpired, ValueError):  # ValueError: output already read
            out, err = "", "(no output)"
        texts.append(f"exit {racer.returncode}\n{out}{err}")
    return "\n".join(texts)


@pytest.mark.parametrize("backend", ["postgresql", "mysql"])
def test_two_processes_racing_upgrades_apply_each_migration_once(
    db_url: str, cog_project: CogProject
) -> None:
    rounds = 20
    cog_project.write("cogs/__init__.py", "")
    cog_project.write("cogs/race.py", RACE_COG)
    cog_project.write("racer.py", RACER)
    versions = cog_project.root / "cogs" / "race" / "migrations"
    versions.mkdir(parents=True)
    env = {
        **os.environ,
        "RACE_DB": db_url,
        "RACE_ROUNDS": str(rounds),
        "RACE_DIR": str(cog_project.root),
        "PYTHONPATH": os.pathsep.join([str(cog_project.root), os.environ.get("PYTHONPATH", "")]),
    }
    racers = [
        subprocess.Popen(
            [sys.executable, "racer.py"],
            cwd=cog_project.root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        for number in range(1, rounds + 1):
            down = f"{number - 1:04d}" if number > 1 else None
            rev = f"{number:04d}"
            text = RACE_STEP.format(n=number, rev=rev, down=down)
            (versions / f"{rev}_round_{number}.py").write_text(text)
            (cog_project.root / f"round{number}.go").write_text("go")
            deadline = time.monotonic() + 60
            while len(list(cog_project.root.glob(f"round{number}.[0-9]*"))) < 2:
                # A racer that ended early (its upgrade failed) or one stuck past the deadline
                # fails the test with both racers' output; neither is waited on unbounded.
                if any(r.poll() is not None for r in racers):
                    pytest.fail(f"a racer ended in round {number}:\n{_stop(racers)}")
                if time.monotonic() > deadline:
                    pytest.fail(f"a racer is stuck in round {number}:\n{_stop(racers)}")
                time.sleep(0.01)
        outputs = [r.communicate(timeout=60) for r in racers]
    finally:
        _stop(racers)
    applied: list[str] = []
    for racer, (out, err) in zip(racers, outputs, strict=True):
        assert racer.returncode == 0, err
        applied += json.loads(out.strip().splitlines()[-1])["applied"]
    # every migration applied exactly once, by one racer or the other
    assert sorted(applied) == [f"{n:04d}" for n in range(1, rounds + 1)]
    shares = [len(json.loads(out.strip().splitlines()[-1])["applied"]) for out, _ in outputs]
    print(f"[figure] {rounds} rounds, 2 racers: applied {shares[0]} + {shares[1]}, errors 0")
    tables = asyncio.run(table_names(db_url))
    assert {f"race_t{n}" for n in range(1, rounds + 1)} <= tables
    assert asyncio.run(_scalar(db_url, "SELECT version_num FROM alembic_version_race")) == "0020"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_cog_says_busy_while_another_process_holds_the_migration_lock(
    db_url: str, backend: str, cog_project: CogProject
) -> None:
    import fcntl

    from nextcord_ormar.migrations.locking import advisory_key, lock_name

    write_cogs(cog_project, moderation=False)
    async with running_bot(db_url, cog_project, extensions=("cogs.economy",)) as scene:
        url = normalize_url(db_url)
        other = create_async_engine(url)
        try:
            async with other.connect() as conn:
                if backend == "postgresql":
                    key = advisory_key(lock_name(url.database or ""))
                    await conn.execute(sqlalchemy.text("SELECT pg_advisory_lock(:k)"), {"k": key})
                    await conn.commit()
                    lock_file = None
                else:
                    path = Path(url.database or "").resolve()
                    lock_file = open(path.with_name(path.name + ".nxo-lock"), "a+")  # noqa: SIM115
                    fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX)
                handle = await scene.run(scene.owner, "migrate make", {"cog": "Economy"})
                await scene.finished(handle, "busy: another process is migrating this database")
                folder = cog_project.root / "cogs" / "economy" / "migrations"
                assert not list(folder.glob("*.py")) if folder.exists() else True
                if lock_file is not None:
                    fcntl.flock(lock_file.fileno(), fcntl.LOCK_UN)
                    lock_file.close()
                else:
                    await conn.execute(sqlalchemy.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    await conn.commit()
        finally:
            await other.dispose()
        handle = await scene.run(scene.owner, "migrate make", {"cog": "Economy"})
        await scene.finished(handle, "Made migration")


SLOW_STEP = '''"""waits on the server"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("SELECT pg_sleep(30)")


def downgrade() -> None:
    pass
'''


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_connection_killed_mid_upgrade_is_a_clear_error_and_the_bot_recovers(
    db_url: str, backend: str, cog_project: CogProject
) -> None:
    write_cogs(cog_project, moderation=False)
    url = normalize_url(db_url)
    async with running_bot(
        db_url, cog_project, extensions=("cogs.economy",), heartbeat_interval=0.2
    ) as scene:
        made = await MigrationEngine.for_bot(scene.bot).make("economy")
        assert made.path is not None
        made.path.with_name("0002_waits.py").write_text(SLOW_STEP)
        session = scene.discord.gateway.session
        assert session is not None
        before = len(session.heartbeats)
        handle = await scene.run(scene.owner, "migrate upgrade")
        admin = create_async_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        try:
            async with admin.connect() as conn:
                query = sqlalchemy.text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = :db"
                    " AND query LIKE '%pg_sleep%' AND pid <> pg_backend_pid()"
                )
                deadline = time.monotonic() + 20
                pids: list[int] = []
                while not pids and time.monotonic() < deadline:
                    pids = list((await conn.execute(query, {"db": url.database})).scalars())
                    await asyncio.sleep(0.05)
                assert pids, "the slow migration never started"
                for pid in pids:
                    await conn.execute(
                        sqlalchemy.text("SELECT pg_terminate_backend(:p)"), {"p": pid}
                    )
                killed_at = time.monotonic()
        finally:
            await admin.dispose()
        reply = await scene.finished(handle, "Upgrade failed", timeout=30)
        print(  # figures for the issue note (pytest -s)
            f"[figure] killed connection -> error reply in {time.monotonic() - killed_at:.2f} s; "
            f"largest heartbeat gap {session.max_heartbeat_gap():.2f} s at a 0.2 s interval"
        )
        fields = {f["name"]: f["value"] for f in reply.embeds[0]["fields"]}
        assert "0002" in fields["Failed migration"]
        assert "Economy: FAILED at 0002, left at 0001" in reply.embeds[0]["description"]
        # the bot stayed connected and kept heartbeating through it
        assert len(session.heartbeats) > before
        assert scene.discord.gateway.session is session
        show = await scene.run(scene.owner, "migrate show", {"cog": "Economy"})
        reply = await scene.finished(show, "Migration status")
        assert "pending: 0002" in reply.embeds[0]["fields"][0]["value"]


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_no_reply_or_file_carries_the_database_password(
    db_url: str, backend: str, cog_project: CogProject
) -> None:
    # PostgreSQL trusts local connections, so the password is carried but never checked.
    secret = "nxo-s3cret-pw"
    with_password = str(normalize_url(db_url).set(password=secret).render_as_string(False))
    write_cogs(cog_project, moderation=False)
    async with running_bot(with_password, cog_project, extensions=("cogs.economy",)) as scene:
        made = await MigrationEngine.for_bot(scene.bot).make("economy")
        assert made.path is not None
        made.path.with_name("0002_fails_halfway.py").write_text(FAILING_STEP)
        handles = []
        for command, options in [
            ("migrate show", {}),
            ("migrate upgrade", {}),
            ("migrate sql", {"cog": "Economy"}),
            ("migrate make", {"cog": "nope"}),
            ("migrate upgrade", {"cog": "Economy", "target": "zzz"}),
            ("migrate check", {}),
        ]:
            handle = await scene.run(scene.owner, command, options)
            await handle.wait_done(timeout=30)
            await asyncio.sleep(0.2)
            handles.append(handle)
        texts = []
        for handle in handles:
            for reply in handle.replies:
                texts += [reply.content or "", json.dumps(reply.embeds)]
                texts += [f.data.decode("utf-8", "replace") for f in reply.files]
        for message in scene.discord.messages.values():
            texts += [message.content or "", json.dumps(message.embeds)]
            texts += [f.data.decode("utf-8", "replace") for f in message.files]
        everything = "\n".join(texts)
        assert "Upgrade failed" in everything
        assert secret not in everything


@pytest.mark.parametrize("app_tables_exist", [False, True])
async def test_make_never_reads_tables_the_app_does_not_own(
    tmp_path: Path, cog_project: CogProject, app_tables_exist: bool
) -> None:
    """Reflection stays inside the app, also before its first migration (Alembic 1.20 read
    every table when the app had none yet)."""
    write_cogs(cog_project, moderation=False)
    db_path = tmp_path / "scope.sqlite3"
    bot = Bot(database_url=f"sqlite:///{db_path}")
    bot.load_extension("cogs.economy")
    engine = MigrationEngine.for_bot(bot, in_thread=False)
    try:
        await bot.connect_database()
        async with bot.database.engine.begin() as conn:
            for number in range(30):
                await conn.execute(sqlalchemy.text(f"CREATE TABLE junk_{number} (id INTEGER)"))
        if app_tables_exist:
            await engine.make("economy")
            await engine.upgrade()
            change_wallet(cog_project, "note: str = ormar.String(max_length=20, nullable=True)")
            bot.reload_extension("cogs.economy")
        seen: list[str] = []

        def record(
            conn: object, cursor: object, statement: str, params: object, *_: object
        ) -> None:
            seen.append(f"{statement} {params}")

        sync_engine = bot.database.engine.sync_engine
        sqlalchemy.event.listen(sync_engine, "before_cursor_execute", record)
        try:
            made = await engine.make("economy")
        finally:
            sqlalchemy.event.remove(sync_engine, "before_cursor_execute", record)
        assert made.written
        assert seen, "the make ran no SQL at all?"
        assert not [s for s in seen if "junk_" in s]
    finally:
        await bot.close()
