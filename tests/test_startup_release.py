"""Releasing and holding cogs under the start-up policy, after start-up: the ``on_ready`` a
held cog missed, commands nextcord finds only by signature, and the writes of ``/migrate``
(downgrade, stamp) that move a cog's database behind or back up to its scripts."""

from __future__ import annotations

import nextcord

from nextcord_ormar import Bot
from nextcord_ormar.migrations import MigrationEngine
from nextcord_ormar.startup import DEFAULT_MESSAGE
from nextcord_ormar.testing import LocalDiscord
from tests.conftest import CogProject
from tests.discord_harness import (
    Scene,
    columns,
    record_everything_sent,
    running_bot,
    table_names,
)
from tests.test_startup_policy import (
    DROPPING,
    ECHO,
    ECONOMY,
    EXTENSIONS,
    add_step,
    heard,
    make_first_migration,
    owner_dm,
    reply_text,
    scalar,
)

SETUP = "\n\ndef setup(bot):"

ECONOMY_READY = ECONOMY.replace(
    SETUP,
    """
    @commands.Cog.listener()
    async def on_ready(self):
        # the cache-loading futaba#227 asks for: it must run after the tables exist
        count = await Wallet.objects.count()
        self.bot.__dict__.setdefault("economy_ready", []).append(count)

    @nextcord.slash_command(name="deposit", description="Add to your balance")
    async def deposit(self, interaction, amount: int = nextcord.SlashOption(description="Sum")):
        wallet, _ = await Wallet.objects.get_or_create(
            id=interaction.user.id, _defaults={"balance": 0}
        )
        await wallet.update(balance=wallet.balance + amount)
        await interaction.response.send_message(f"balance {wallet.balance}")
"""
    + SETUP,
)

ECHO_READY = ECHO.replace(
    SETUP,
    """
    @commands.Cog.listener()
    async def on_ready(self):
        self.bot.__dict__.setdefault("echo_ready", []).append("ready")
"""
    + SETUP,
)


def write_project(project: CogProject) -> None:
    project.write("cogs/__init__.py", "")
    project.write("cogs/economy.py", ECONOMY_READY)
    project.write("cogs/echo.py", ECHO_READY)


def seen(scene: Scene, key: str) -> list[object]:
    return list(scene.bot.__dict__.get(key, []))


async def test_a_released_cog_gets_the_on_ready_it_missed_once_and_only_its_own(
    db_url: str, cog_project: CogProject
) -> None:
    write_project(cog_project)
    await make_first_migration(db_url, cog_project)
    options = {"migrations": "check"}
    async with running_bot(
        db_url, cog_project, extensions=EXTENSIONS, bot_options=options
    ) as scene:
        await scene.discord.wait_until(lambda: seen(scene, "echo_ready"))
        assert "Economy" in scene.bot.held_cogs
        assert seen(scene, "economy_ready") == []  # held: its on_ready did not run

        upgrade = await scene.run(scene.owner, "migrate upgrade")
        reply = await scene.finished(upgrade, "Upgrade done")
        assert reply.content == "Released the held cogs: Economy"
        await scene.discord.wait_until(lambda: seen(scene, "economy_ready"))
        assert seen(scene, "economy_ready") == [0]  # it read the table, after the migration
        assert seen(scene, "echo_ready") == ["ready"]  # the other cog's is not repeated

        again = await scene.run(scene.owner, "migrate upgrade")
        await scene.finished(again, "Upgrade done")
        await heard(scene, "after a second upgrade")  # every pending task had its turn
        assert seen(scene, "economy_ready") == [0]  # delivered once


async def test_a_command_known_only_by_signature_gets_the_maintenance_reply(
    db_url: str, cog_project: CogProject
) -> None:
    write_project(cog_project)
    await make_first_migration(db_url, cog_project)
    options = {"migrations": "check"}
    async with running_bot(
        db_url, cog_project, extensions=EXTENSIONS, bot_options=options
    ) as scene:
        assert "Economy" in scene.bot.held_cogs
        # Another deployment re-created /balance: Discord now sends an id this process never
        # associated, and nextcord finds the command by its name and type (lazy loading).
        commands = scene.discord.commands
        old = commands.get("deposit")
        commands.delete(int(old["id"]), None)
        payload = {key: old[key] for key in ("name", "description", "options", "type")}
        new, created = commands.upsert(payload, None)
        assert created
        assert new["id"] != old["id"]
        assert scene.bot.get_application_command(int(new["id"])) is None

        assert await deposit(scene, 3) == (DEFAULT_MESSAGE, True)
        assert "economy_wallets" not in await table_names(db_url)

        upgrade = await scene.run(scene.owner, "migrate upgrade")
        await scene.finished(upgrade, "Upgrade done")
        # released: nextcord's own lazy loading runs the command under its new id
        assert await deposit(scene, 3) == ("balance 3", False)
        assert scene.bot.get_application_command(int(new["id"])) is not None


async def test_a_guild_command_known_only_by_signature_gets_the_maintenance_reply(
    db_url: str, cog_project: CogProject
) -> None:
    write_project(cog_project)
    await make_first_migration(db_url, cog_project)
    async with LocalDiscord(heartbeat_interval=0.5) as discord:
        owner, stranger = discord.create_user("owner"), discord.create_user("stranger")
        guild = discord.create_guild("HQ", owner=owner, channels=["general"])
        guild.add_member(stranger)
        discord.set_owner(owner)
        bot = Bot(
            database_url=db_url,
            intents=nextcord.Intents.default(),
            guild_ready_timeout=0.05,
            default_guild_ids=[guild.id],  # the cog's commands are the guild's
            migrations="check",
        )
        bot.load_extension("cogs.economy")
        async with discord.run_bot(bot):
            assert "Economy" in bot.held_cogs
            old = discord.commands.get("deposit", guild=guild)
            discord.commands.delete(int(old["id"]), guild.id)
            payload = {key: old[key] for key in ("name", "description", "options", "type")}
            new, _ = discord.commands.upsert(payload, guild.id)
            assert bot.get_application_command(int(new["id"])) is None
            channel = guild.channel("general")
            handle = await discord.slash(stranger, channel, "deposit", {"amount": 3})
            reply = await handle.wait_done()
            assert (reply.content, handle.ephemeral) == (DEFAULT_MESSAGE, True)
        record_everything_sent(discord)
    assert "economy_wallets" not in await table_names(db_url)


async def deposit(scene: Scene, amount: int) -> tuple[str, bool]:
    handle = await scene.run(scene.stranger, "deposit", {"amount": amount})
    reply = await handle.wait_done()
    return reply.content or "", handle.ephemeral


async def test_a_downgrade_under_check_holds_the_cog_until_it_is_upgraded_again(
    db_url: str, cog_project: CogProject
) -> None:
    write_project(cog_project)
    await make_first_migration(db_url, cog_project, apply=True)
    options = {"migrations": "check"}
    async with running_bot(
        db_url, cog_project, extensions=EXTENSIONS, bot_options=options
    ) as scene:
        assert scene.bot.held_cogs == {}
        assert await reply_text(scene, "balance") == ("balance 5", False)

        downgrade = await scene.run(scene.owner, "migrate downgrade", {"cog": "Economy"})
        await scene.finished(downgrade, "This will undo 1 migration")
        await scene.discord.click(scene.owner, downgrade, label="Confirm")
        reply = await scene.finished(downgrade, "Downgrade done")
        assert scene.bot.held_cogs == {"Economy": "1 migration not applied"}
        assert reply.content == "Held back until migrated: Economy (1 migration not applied)"
        assert await reply_text(scene, "balance") == (DEFAULT_MESSAGE, True)
        assert await reply_text(scene, "ping") == ("pong", False)

        upgrade = await scene.run(scene.owner, "migrate upgrade")
        reply = await scene.finished(upgrade, "Upgrade done")
        assert reply.content == "Released the held cogs: Economy"
        assert await reply_text(scene, "balance") == ("balance 5", False)


async def test_a_stamp_releases_or_holds_the_cog(db_url: str, cog_project: CogProject) -> None:
    write_project(cog_project)
    await make_first_migration(db_url, cog_project, apply=True)
    bot = Bot(database_url=db_url)
    bot.load_extension("cogs.economy")
    try:  # the tables are there, the version table says nothing was applied
        await MigrationEngine.for_bot(bot, backups=False).stamp("economy", "base")
    finally:
        await bot.close()
    options = {"migrations": "check"}
    async with running_bot(
        db_url, cog_project, extensions=EXTENSIONS, bot_options=options
    ) as scene:
        assert scene.bot.held_cogs == {"Economy": "1 migration not applied"}

        stamp = await scene.run(
            scene.owner, "migrate stamp", {"cog": "Economy", "revision": "head"}
        )
        reply = await scene.finished(stamp, "Stamped")
        assert reply.content.splitlines()[-1] == "Released the held cogs: Economy"
        assert scene.bot.held_cogs == {}
        assert await reply_text(scene, "balance") == ("balance 5", False)

        stamp = await scene.run(
            scene.owner, "migrate stamp", {"cog": "Economy", "revision": "base"}
        )
        reply = await scene.finished(stamp, "Stamped")
        assert reply.content.splitlines()[-1] == (
            "Held back until migrated: Economy (1 migration not applied)"
        )
        assert await reply_text(scene, "balance") == (DEFAULT_MESSAGE, True)


SAFE = '    op.create_table("economy_notes", sa.Column("id", sa.Integer, primary_key=True))'


async def test_apply_runs_the_safe_steps_before_the_first_dropping_one(
    db_url: str, cog_project: CogProject
) -> None:
    write_project(cog_project)
    first = await make_first_migration(db_url, cog_project, apply=True)
    add_step(first, "0002", "0001", SAFE, "notes")
    add_step(first, "0003", "0002", DROPPING, "drop balance")
    options = {"migrations": "apply"}
    async with running_bot(
        db_url, cog_project, extensions=EXTENSIONS, bot_options=options
    ) as scene:
        assert await scalar(db_url, "SELECT version_num FROM alembic_version_economy") == "0002"
        assert "economy_notes" in await table_names(db_url)
        assert "balance" in await columns(db_url, "economy_wallets")
        reason = scene.bot.held_cogs["Economy"]
        assert "0003 not applied without a confirmation" in reason
        assert "drops column economy_wallets.balance" in reason
        assert reason.endswith("run /migrate upgrade to confirm it")
        dm = await owner_dm(scene)
        assert "Economy: 0003 not applied" in dm.content
