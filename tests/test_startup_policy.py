"""The start-up policy (Bot(migrations=...)): held cogs, start-up upgrades, close() waiting."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import nextcord
import pytest
import sqlalchemy
from nextcord.http import Route
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import create_async_engine

from nextcord_ormar import Bot, normalize_url
from nextcord_ormar.errors import ConfigError
from nextcord_ormar.migrations import MigrationEngine
from nextcord_ormar.startup import resolve_policy
from nextcord_ormar.testing import LocalDiscord
from tests.conftest import CogProject
from tests.discord_harness import Scene, columns, running_bot

ECONOMY = """
import ormar
import nextcord
from nextcord.ext import commands
from nextcord_ormar import AppModel, OrmarApp

app = OrmarApp.create_app("economy")


class Wallet(AppModel):
    ormar_config = app.config()
    id: int = ormar.BigInteger(primary_key=True, autoincrement=False)
    balance: int = ormar.Integer(default=0)


class Economy(commands.Cog):
    def __init__(self, bot):
        self.bot = bot

    @nextcord.slash_command(name="balance", description="Your balance")
    async def balance(self, interaction):
        wallet, _ = await Wallet.objects.get_or_create(
            id=interaction.user.id, _defaults={"balance": 5}
        )
        await interaction.response.send_message(f"balance {wallet.balance}")

    @commands.Cog.listener()
    async def on_message(self, message):
        if not message.author.bot:
            await Wallet.objects.get_or_create(id=message.author.id, _defaults={"balance": 1})
            self.bot.__dict__.setdefault("economy_heard", []).append(message.id)


def setup(bot):
    bot.add_cog(Economy(bot))
"""

ECHO = """
import nextcord
from nextcord.ext import commands


class Echo(commands.Cog):
    def __init__(self, bot):
        self.bot = bot

    @nextcord.slash_command(name="ping", description="Pong")
    async def ping(self, interaction):
        await interaction.response.send_message("pong")

    @commands.Cog.listener()
    async def on_message(self, message):
        if not message.author.bot:
            self.bot.__dict__.setdefault("echo_heard", []).append(message.id)


def setup(bot):
    bot.add_cog(Echo(bot))
"""

STEP = '''"""{message}"""

import time
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "{rev}"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade() -> None:
{body}


def downgrade() -> None:
    pass
'''

FAILING = '    op.execute("SELECT no_such_column FROM no_such_table")'
DROPPING = '    op.drop_column("economy_wallets", "balance")'
WAITING = """    here = Path({folder!r})
    (here / "started").write_text("started")
    deadline = time.monotonic() + 60
    while not (here / "go").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    op.create_table("economy_late", sa.Column("id", sa.Integer, primary_key=True))"""


def write_project(project: CogProject) -> None:
    project.write("cogs/__init__.py", "")
    project.write("cogs/economy.py", ECONOMY)
    project.write("cogs/echo.py", ECHO)


async def make_first_migration(db_url: str, project: CogProject, apply: bool = False) -> Path:
    """``0001`` of the economy app, written (and applied if told) by a bot not started."""
    bot = Bot(database_url=db_url)
    bot.load_extension("cogs.economy")
    try:
        made = await MigrationEngine.for_bot(bot).make("economy")
        if apply:
            assert (await MigrationEngine.for_bot(bot).upgrade()).ok
    finally:
        await bot.close()
    assert made.path is not None
    return made.path


def add_step(first: Path, rev: str, down: str, body: str, message: str = "step") -> Path:
    path = first.with_name(f"{rev}_{message.replace(' ', '_')}.py")
    path.write_text(STEP.format(message=message, rev=rev, down=down, body=body))
    return path


async def scalar(db_url: str, sql: str) -> object:
    engine = create_async_engine(normalize_url(db_url))
    try:
        async with engine.connect() as conn:
            return (await conn.execute(sqlalchemy.text(sql))).scalar()
    finally:
        await engine.dispose()


async def owner_dm(scene: Scene) -> nextcord.Message:
    channel = scene.discord.dm_channel(scene.owner)
    return await scene.discord.wait_for_message(channel)  # type: ignore[return-value]


async def reply_text(scene: Scene, command: str) -> tuple[str, bool]:
    handle = await scene.run(scene.stranger, command)
    reply = await handle.wait_done()
    return reply.content or "", handle.ephemeral


async def heard(scene: Scene, text: str) -> int:
    """Post ``text`` and wait until the unheld Echo cog heard it (so every listener ran)."""
    message = await scene.discord.send_message(scene.stranger, scene.general, text)
    await scene.discord.wait_until(lambda: message.id in scene.bot.__dict__.get("echo_heard", []))
    return message.id


EXTENSIONS = ("cogs.economy", "cogs.echo")


async def test_check_holds_a_cog_behind_its_scripts_until_migrate_upgrade(
    db_url: str, cog_project: CogProject
) -> None:
    write_project(cog_project)
    await make_first_migration(db_url, cog_project)
    options = {"migrations": "check"}
    async with running_bot(
        db_url, cog_project, extensions=EXTENSIONS, bot_options=options
    ) as scene:
        assert scene.bot.held_cogs == {"Economy": "1 migration not applied"}
        dm = await owner_dm(scene)
        assert "Economy: 1 migration not applied" in dm.content
        assert "/migrate upgrade" in dm.content
        assert "Echo" not in dm.content

        text, ephemeral = await reply_text(scene, "balance")
        assert text == "This feature is being updated. Please try again in a few minutes."
        assert ephemeral
        assert await reply_text(scene, "ping") == ("pong", False)  # other cogs serve
        await heard(scene, "hello while held")
        assert "economy_heard" not in scene.bot.__dict__  # the held cog's listener did not run

        upgrade = await scene.run(scene.owner, "migrate upgrade")
        reply = await scene.finished(upgrade, "Upgrade done")
        assert reply.content == "Released the held cogs: Economy"
        assert scene.bot.held_cogs == {}
        assert await reply_text(scene, "balance") == ("balance 5", False)  # no restart
        after = await heard(scene, "hello after")
        await scene.discord.wait_until(lambda: scene.bot.__dict__.get("economy_heard"))
        assert scene.bot.__dict__["economy_heard"] == [after]
        dms = scene.discord.dm_channel(scene.owner).messages
        assert len(dms) == 1  # told once


async def test_the_start_up_check_runs_with_what_the_bot_holds_frozen(
    db_url: str, cog_project: CogProject
) -> None:
    """``freeze_gc`` freezes before the start-up check too, not only after it: the check's
    work triggers full collections, which would otherwise rescan every module's objects."""
    write_project(cog_project)
    await make_first_migration(db_url, cog_project, apply=True)
    frozen: list[int] = []

    def record(conn: object, cursor: object, statement: str, *_: object) -> None:
        if threading.current_thread() is not threading.main_thread():  # the engine's worker
            frozen.append(gc.get_freeze_count())

    gc.unfreeze()  # what the bots of earlier tests in this process froze
    sqlalchemy.event.listen(Engine, "before_cursor_execute", record)
    try:
        options = {"migrations": "check"}
        async with running_bot(
            db_url, cog_project, extensions=EXTENSIONS, bot_options=options
        ) as scene:
            assert scene.bot.held_cogs == {}
    finally:
        sqlalchemy.event.remove(Engine, "before_cursor_execute", record)
    assert frozen, "the check ran no statement in a worker"
    assert min(frozen) > 0, frozen


async def test_a_cog_loaded_later_is_checked_and_a_reload_after_an_upgrade_releases_it(
    db_url: str, cog_project: CogProject
) -> None:
    write_project(cog_project)
    await make_first_migration(db_url, cog_project)
    options = {"migrations": "check", "migrations_message": "Back soon."}
    async with running_bot(
        db_url, cog_project, extensions=("cogs.echo",), bot_options=options
    ) as scene:
        assert scene.bot.held_cogs == {}
        scene.bot.load_extension("cogs.economy")
        await scene.discord.wait_until(
            lambda: scene.bot.held_cogs.get("Economy") == "1 migration not applied"
        )
        await owner_dm(scene)
        # upgraded from elsewhere (nxalembic upgrade, another process), then reloaded
        result = await MigrationEngine.for_bot(scene.bot).upgrade(["economy"])
        assert result.ok
        assert scene.bot.held_cogs  # nothing re-checked yet
        scene.bot.reload_extension("cogs.economy")
        await scene.discord.wait_until(lambda: not scene.bot.held_cogs)


async def test_on_a_team_the_held_cogs_message_goes_to_the_team_owner_only(
    db_url: str, cog_project: CogProject
) -> None:
    """nextcord's ``is_owner`` fills ``bot.owner_ids`` with every team member, invited and
    read-only ones too; the message about held cogs still goes to the team's owner."""
    write_project(cog_project)
    await make_first_migration(db_url, cog_project)
    options = {"migrations": "check"}
    async with running_bot(
        db_url, cog_project, extensions=("cogs.echo",), bot_options=options
    ) as scene:
        # ``owner`` (the lowest id) was only invited; ``admin`` owns the team
        team = scene.discord.set_team([scene.admin], name="Maintainers")
        team.add_member(scene.owner, role="admin", invited=True)
        team.add_member(scene.stranger, role="read_only")
        assert await scene.bot.is_owner(nextcord.Object(id=scene.admin.id))  # type: ignore[arg-type]
        assert min(scene.bot.owner_ids) == scene.owner.id
        scene.bot.load_extension("cogs.economy")
        await scene.discord.wait_until(lambda: "Economy" in scene.bot.held_cogs)
        dm = await scene.discord.wait_for_message(scene.discord.dm_channel(scene.admin))
        assert "Economy: 1 migration not applied" in (dm.content or "")
        assert scene.discord.dm_channel(scene.owner).messages == []
        assert scene.discord.dm_channel(scene.stranger).messages == []


async def test_apply_upgrades_at_start_and_holds_only_the_cog_whose_migration_fails(
    db_url: str, cog_project: CogProject
) -> None:
    write_project(cog_project)
    first = await make_first_migration(db_url, cog_project)
    add_step(first, "0002", "0001", FAILING, "fails")
    options = {"migrations": "apply"}
    async with running_bot(
        db_url, cog_project, extensions=EXTENSIONS, bot_options=options
    ) as scene:
        assert list(scene.bot.held_cogs) == ["Economy"]
        assert scene.bot.held_cogs["Economy"].startswith("migration 0002 failed: ")
        dm = await owner_dm(scene)
        assert "Economy: migration 0002 failed" in dm.content
        assert dm.embeds[0]["title"] == "Upgrade failed"  # the report /migrate upgrade gives
        fields = {f["name"]: f["value"] for f in dm.embeds[0]["fields"]}
        assert fields["Failed migration"] == "Economy 0002"
        assert [f.filename for f in dm.files] == ["traceback.txt"]
        assert await scalar(db_url, "SELECT version_num FROM alembic_version_economy") == "0001"
        text, ephemeral = await reply_text(scene, "balance")
        assert ephemeral
        assert "being updated" in text
        assert await reply_text(scene, "ping") == ("pong", False)


async def test_apply_never_runs_a_dropping_migration_unless_allowed(
    db_url: str, cog_project: CogProject
) -> None:
    write_project(cog_project)
    first = await make_first_migration(db_url, cog_project, apply=True)
    add_step(first, "0002", "0001", DROPPING, "drop balance")
    source = cog_project.root / "cogs" / "economy.py"
    source.write_text(
        source.read_text().replace("    balance: int = ormar.Integer(default=0)\n", "")
    )
    options = {"migrations": "apply"}
    async with running_bot(
        db_url, cog_project, extensions=EXTENSIONS, bot_options=options
    ) as scene:
        reason = scene.bot.held_cogs["Economy"]
        assert "drops column economy_wallets.balance" in reason
        assert "/migrate upgrade" in reason
        assert "balance" in await columns(db_url, "economy_wallets")
        assert "/migrate upgrade" in (await owner_dm(scene)).content
    options["migrations_allow_destructive"] = True  # type: ignore[assignment]
    async with running_bot(
        db_url, cog_project, extensions=EXTENSIONS, bot_options=options
    ) as scene:
        assert scene.bot.held_cogs == {}
        assert "balance" not in await columns(db_url, "economy_wallets")


async def test_close_waits_for_a_running_start_up_migration(
    db_url: str, cog_project: CogProject, caplog: pytest.LogCaptureFixture
) -> None:
    write_project(cog_project)
    first = await make_first_migration(db_url, cog_project)
    add_step(first, "0002", "0001", WAITING.format(folder=str(cog_project.root)), "slow")
    caplog.set_level(logging.INFO, logger="nextcord_ormar.startup")
    async with LocalDiscord(heartbeat_interval=0.5) as discord:
        owner = discord.create_user("owner")
        discord.create_guild("HQ", owner=owner)
        discord.set_owner(owner)
        bot = Bot(database_url=db_url, intents=nextcord.Intents.default(), migrations="apply")
        bot.load_extension("cogs.economy")
        previous, Route.BASE = Route.BASE, discord.api_url
        try:
            start = asyncio.create_task(bot.start(discord.token))
            started = cog_project.root / "started"
            await discord.wait_until(started.exists, timeout=30)
            closing = asyncio.create_task(bot.close())
            await asyncio.sleep(0.3)
            assert not closing.done()  # the migration is still running: close() waits
            (cog_project.root / "go").write_text("go")
            await asyncio.wait_for(closing, 30)
            await asyncio.wait_for(start, 30)
        finally:
            Route.BASE = previous
    assert await scalar(db_url, "SELECT version_num FROM alembic_version_economy") == "0002"
    assert "economy_late" in await table_names_of(db_url)
    assert "waiting up to 60 s for the start-up migration" in caplog.text
    assert "the start-up migration finished; closing" in caplog.text


async def table_names_of(db_url: str) -> set[str]:
    from tests.discord_harness import table_names

    return await table_names(db_url)


async def test_the_policy_comes_from_the_argument_then_the_environment_then_the_ini(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ini = tmp_path / "nxalembic.ini"
    monkeypatch.delenv("NXO_MIGRATIONS", raising=False)
    assert resolve_policy(None, ini) == "off"
    ini.write_text("[nxalembic]\nmodule = bot\nbot = bot\nmigrations = Check\n")
    assert resolve_policy(None, ini) == "check"
    monkeypatch.setenv("NXO_MIGRATIONS", "apply")
    assert resolve_policy(None, ini) == "apply"
    assert resolve_policy("off", ini) == "off"
    monkeypatch.setenv("NXO_MIGRATIONS", "later")
    with pytest.raises(ConfigError, match=r"\$NXO_MIGRATIONS: 'later' is not a start-up"):
        resolve_policy(None, ini)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NXO_MIGRATIONS")
    assert Bot(database_url="sqlite://").migrations == "check"  # ./nxalembic.ini


TALLY = """
import ormar
from nextcord.ext import commands
from nextcord_ormar import AppModel, OrmarApp

app = OrmarApp.create_app("tally")


class Mark(AppModel):
    ormar_config = app.config()
    id: int = ormar.Integer(primary_key=True)
    rev: str = ormar.String(max_length=10)


class Tally(commands.Cog):
    pass


def setup(bot):
    bot.add_cog(Tally())
"""

STARTER = """
import asyncio, json, os
from pathlib import Path

import nextcord
from nextcord_ormar import Bot
from nextcord_ormar.testing import LocalDiscord


async def main() -> None:
    here = Path(os.environ["RACE_DIR"])
    async with LocalDiscord(heartbeat_interval=0.5) as discord:
        owner = discord.create_user("owner")
        discord.create_guild("HQ", owner=owner)
        discord.set_owner(owner)
        bot = Bot(
            database_url=os.environ["RACE_DB"],
            intents=nextcord.Intents.default(),
            guild_ready_timeout=0.05,
            migrations="apply",
        )
        bot.load_extension("cogs.tally")
        (here / f"loaded.{os.getpid()}").write_text("loaded")
        while not (here / "go").exists():
            await asyncio.sleep(0.01)
        async with discord.run_bot(bot, timeout=120):
            print(json.dumps({"ready": bot.is_ready(), "held": bot.held_cogs}))


asyncio.run(main())
"""

COUNTED = """    time.sleep(0.3)  # long enough for the three starters to overlap without the lock
    op.execute("INSERT INTO tally_marks (rev) VALUES ('{rev}')")"""


@pytest.mark.parametrize("backend", ["postgresql", "mysql"])
def test_three_processes_starting_with_apply_run_each_migration_once(
    db_url: str, cog_project: CogProject
) -> None:
    cog_project.write("cogs/__init__.py", "")
    cog_project.write("cogs/tally.py", TALLY)
    cog_project.write("starter.py", STARTER)

    async def make() -> Path:
        bot = Bot(database_url=db_url)
        bot.load_extension("cogs.tally")
        try:
            made = await MigrationEngine.for_bot(bot).make("tally")
        finally:
            await bot.close()
        assert made.path is not None
        return made.path

    first = asyncio.run(make())
    text = first.read_text().replace(
        "def upgrade() -> None:\n", "def upgrade() -> None:\n    import time; time.sleep(0.3)\n"
    )
    first.write_text(text)
    add_step(first, "0002", "0001", COUNTED.format(rev="0002"), "count two")
    add_step(first, "0003", "0002", COUNTED.format(rev="0003"), "count three")
    env = {
        **os.environ,
        "RACE_DB": db_url,
        "RACE_DIR": str(cog_project.root),
        "PYTHONPATH": os.pathsep.join([str(cog_project.root), os.environ.get("PYTHONPATH", "")]),
    }
    starters = [
        subprocess.Popen(
            [sys.executable, "starter.py"],
            cwd=cog_project.root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    try:
        deadline = time.monotonic() + 120
        while len(list(cog_project.root.glob("loaded.*"))) < 3:
            assert all(s.poll() is None for s in starters), "a starter ended before the start"
            assert time.monotonic() < deadline, "the starters did not load their cogs"
            time.sleep(0.05)
        (cog_project.root / "go").write_text("go")  # all three start together
        outputs = [s.communicate(timeout=180) for s in starters]
    finally:
        for starter in starters:
            if starter.poll() is None:
                starter.kill()
    for starter, (out, err) in zip(starters, outputs, strict=True):
        assert starter.returncode == 0, err[-3000:]
        assert json.loads(out.strip().splitlines()[-1]) == {"ready": True, "held": {}}
    marks = asyncio.run(all_marks(db_url))
    assert marks == ["0002", "0003"]  # each counting migration ran once
    assert asyncio.run(scalar(db_url, "SELECT version_num FROM alembic_version_tally")) == "0003"


async def all_marks(db_url: str) -> list[str]:
    engine = create_async_engine(normalize_url(db_url))
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(sqlalchemy.text("SELECT rev FROM tally_marks ORDER BY rev"))
            return [row[0] for row in rows]
    finally:
        await engine.dispose()
