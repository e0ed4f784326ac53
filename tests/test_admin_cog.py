"""/migrate driven through the local Discord, with a real nextcord_ormar.Bot and real databases."""

import asyncio
from pathlib import Path

import pytest

from nextcord_ormar.migrations import MigrationEngine
from tests.conftest import CogProject
from tests.discord_harness import columns, running_bot, table_names
from tests.sample_cogs import change_wallet, write_cogs

EVERY_SUBCOMMAND = [
    ("migrate make", {"cog": "Economy"}),
    ("migrate upgrade", {}),
    ("migrate downgrade", {"cog": "Economy"}),
    ("migrate show", {}),
    ("migrate history", {"cog": "Economy"}),
    ("migrate sql", {"cog": "Economy"}),
    ("migrate check", {}),
    ("migrate stamp", {"cog": "Economy", "revision": "head"}),
    ("migrate adopt", {"cog": "Economy"}),
]
SUBCOMMANDS = {
    "make",
    "upgrade",
    "downgrade",
    "show",
    "history",
    "sql",
    "check",
    "stamp",
    "backup",
    "adopt",
}


async def test_registered_command_is_guild_scoped_admin_only_and_autocompletes(
    db_url: str, cog_project: CogProject
) -> None:
    write_cogs(cog_project)
    async with running_bot(db_url, cog_project) as scene:
        store = scene.discord.commands
        assert "migrate" not in store.names()  # not global
        command = store.get("migrate", guild=scene.guild)
        assert command["default_member_permissions"] == "8"
        subs = {opt["name"]: opt for opt in command["options"]}
        assert set(subs) == SUBCOMMANDS
        for name in (
            "make",
            "upgrade",
            "downgrade",
            "show",
            "history",
            "sql",
            "stamp",
            "adopt",
            "backup",
        ):
            cog_option = next(o for o in subs[name]["options"] if o["name"] == "cog")
            assert cog_option["autocomplete"] is True
        make_options = {o["name"]: o for o in subs["make"]["options"]}
        assert make_options["cog"]["required"] is True
        assert not make_options["message"].get("required", False)

        handle = await scene.discord.autocomplete(
            scene.owner, scene.general, "migrate make", "cog", {"cog": "eco"}
        )
        assert [c["value"] for c in await handle.wait_choices()] == ["Economy"]
        handle = await scene.discord.autocomplete(
            scene.admin, scene.general, "migrate make", "cog", {"cog": ""}
        )
        assert await handle.wait_choices() == []


async def test_without_guild_ids_the_command_is_global_and_not_for_dms(
    db_url: str, cog_project: CogProject
) -> None:
    write_cogs(cog_project, moderation=False)
    extras = {"guild_ids": None}
    async with running_bot(
        db_url, cog_project, extensions=("cogs.economy",), extras=extras
    ) as scene:
        command = scene.discord.commands.get("migrate")
        assert command["default_member_permissions"] == "8"
        if command.get("contexts") is not None:
            assert command["contexts"] == [0]  # guild only (nextcord 3.x)
        else:
            assert command["dm_permission"] is False  # nextcord 2.6
        dm = scene.discord.dm_channel(scene.owner)
        for command, options in EVERY_SUBCOMMAND:
            handle = await scene.discord.slash(
                scene.owner, dm, command, options, check_permissions=False
            )
            reply = await handle.wait_done()
            assert reply.ephemeral
            assert "not in direct messages" in (reply.content or "")
        assert not Path(cog_project.root, "cogs", "economy", "migrations").exists()


async def test_make_upgrade_show_history_sql_check(db_url: str, cog_project: CogProject) -> None:
    write_cogs(cog_project)
    async with running_bot(db_url, cog_project) as scene:
        show = await scene.run(scene.owner, "migrate show")
        reply = await scene.finished(show, "Migration status")
        assert show.deferred
        fields = {f["name"]: f["value"] for f in reply.embeds[0]["fields"]}
        assert "models differ from the database" in fields["Economy (app `economy`)"]

        make = await scene.run(scene.owner, "migrate make", {"cog": "Economy"})
        reply = await scene.finished(make, "Made migration")
        assert not make.ephemeral
        folder = Path(cog_project.root, "cogs", "economy", "migrations")
        written = sorted(folder.glob("*.py"))
        assert [p.name for p in written] == ["0001_create_wallets.py"]
        assert reply.file("0001_create_wallets.py").data == written[0].read_bytes()
        assert "create table economy_wallets" in reply.embeds[0]["description"]

        make2 = await scene.run(scene.owner, "migrate make", {"cog": "moderation"})  # app name
        reply = await scene.finished(make2, "Made migration")
        assert reply.files[0].filename.startswith("0001_create_tags")

        upgrade = await scene.run(scene.owner, "migrate upgrade")
        reply = await scene.finished(upgrade, "Upgrade done")
        text = reply.embeds[0]["description"]
        assert "Economy: base → 0001 (1 migration)" in text
        assert "Moderation: base → 0001 (1 migration)" in text
        progress = [r.content or "" for r in upgrade.edits]
        assert any("applied 0001" in p for p in progress)
        tables = await table_names(db_url)
        assert {"economy_wallets", "moderation_warns", "alembic_version_economy"} <= tables

        again = await scene.run(scene.owner, "migrate make", {"cog": "Economy"})
        reply = await scene.finished(again, "No changes")
        assert sorted(p.name for p in folder.glob("*.py")) == ["0001_create_wallets.py"]

        history = await scene.run(scene.owner, "migrate history", {"cog": "Economy"})
        reply = await scene.finished(history, "History of")
        assert "✅ 0001 create wallets (head)" in reply.embeds[0]["description"]

        sql = await scene.run(scene.owner, "migrate sql", {"cog": "Economy"})
        reply = await scene.finished(sql, "Nothing to run")

        check = await scene.run(scene.owner, "migrate check")
        await scene.finished(check, "Check passed")

        show = await scene.run(scene.owner, "migrate show", {"cog": "Economy"})
        reply = await scene.finished(show, "Migration status")
        assert "up to date" in reply.embeds[0]["fields"][0]["value"]


async def test_sql_attaches_the_planned_upgrade_and_applies_nothing(
    db_url: str, cog_project: CogProject
) -> None:
    write_cogs(cog_project, moderation=False)
    async with running_bot(db_url, cog_project, extensions=("cogs.economy",)) as scene:
        await scene.finished(
            await scene.run(scene.owner, "migrate make", {"cog": "Economy"}), "Made"
        )
        sql = await scene.run(scene.owner, "migrate sql", {"cog": "Economy"})
        reply = await scene.finished(sql, "Nothing was applied")
        script = reply.file("economy_base_to_0001.sql").text()
        assert "CREATE TABLE economy_wallets" in script
        assert "economy_wallets" not in await table_names(db_url)


async def test_reloaded_cog_with_a_new_column_is_made_and_applied(
    db_url: str, cog_project: CogProject
) -> None:
    write_cogs(cog_project, moderation=False)
    async with running_bot(db_url, cog_project, extensions=("cogs.economy",)) as scene:
        await scene.finished(
            await scene.run(scene.owner, "migrate make", {"cog": "Economy"}), "Made"
        )
        await scene.finished(await scene.run(scene.owner, "migrate upgrade"), "Upgrade done")

        change_wallet(cog_project, "bank: int = ormar.Integer(default=0, server_default='0')")
        scene.bot.reload_extension("cogs.economy")

        make = await scene.run(scene.owner, "migrate make", {"cog": "Economy"})
        reply = await scene.finished(make, "Made migration")
        assert reply.files[0].filename == "0002_add_wallets_bank.py"
        assert "add column economy_wallets.bank" in reply.embeds[0]["description"]
        upgrade = await scene.run(scene.owner, "migrate upgrade", {"cog": "Economy"})
        reply = await scene.finished(upgrade, "Upgrade done")
        assert "Economy: 0001 → 0002" in reply.embeds[0]["description"]
        assert "bank" in await columns(db_url, "economy_wallets")


@pytest.mark.parametrize(("command", "options"), EVERY_SUBCOMMAND)
async def test_every_subcommand_refuses_a_non_owner_administrator(
    db_url: str, cog_project: CogProject, command: str, options: dict[str, str]
) -> None:
    write_cogs(cog_project, moderation=False)
    async with running_bot(db_url, cog_project, extensions=("cogs.economy",)) as scene:
        handle = await scene.run(scene.admin, command, options)
        reply = await handle.wait_done()
        assert reply.ephemeral
        assert "Only the bot's owner" in (reply.content or "")
        await asyncio.sleep(0.2)
        assert len(handle.replies) == 1
        assert not Path(cog_project.root, "cogs", "economy", "migrations").exists()
        assert not any(t.startswith(("economy", "alembic")) for t in await table_names(db_url))


async def test_team_members_are_owners(db_url: str, cog_project: CogProject) -> None:
    write_cogs(cog_project, moderation=False)
    async with running_bot(db_url, cog_project, extensions=("cogs.economy",), team=True) as scene:
        handle = await scene.run(scene.admin, "migrate make", {"cog": "Economy"})
        await scene.finished(handle, "Made migration")
        stranger = await scene.run(scene.stranger, "migrate show", check_permissions=False)
        assert (await stranger.wait_done()).ephemeral


async def test_unknown_cog_is_a_clear_error(db_url: str, cog_project: CogProject) -> None:
    write_cogs(cog_project, moderation=False)
    async with running_bot(db_url, cog_project, extensions=("cogs.economy",)) as scene:
        handle = await scene.run(scene.owner, "migrate make", {"cog": "../../etc"})
        reply = await scene.finished(handle, "no loaded cog with models")
        assert "loaded cogs with models: Economy" in reply.embeds[0]["description"]


async def test_second_write_while_one_runs_is_told_busy(
    db_url: str, cog_project: CogProject
) -> None:
    write_cogs(cog_project, moderation=False)
    async with running_bot(db_url, cog_project, extensions=("cogs.economy",)) as scene:
        engine = MigrationEngine.for_bot(scene.bot)
        slow = await engine.make("economy", message="slow", empty=True)
        assert slow.path is not None
        slow.path.write_text(
            slow.path.read_text().replace(
                "def upgrade() -> None:\n    pass",
                "def upgrade() -> None:\n    import time\n    time.sleep(1.5)",
            )
        )
        first = await scene.run(scene.owner, "migrate upgrade")
        await first.wait_acknowledged()
        second = await scene.run(scene.owner, "migrate make", {"cog": "Economy"})
        reply = await second.wait_done()
        assert reply.ephemeral
        assert (reply.content or "").startswith("busy: upgrade started by")
        await scene.finished(first, "Upgrade done")


async def _made_and_applied(scene, steps: int = 2) -> None:  # type: ignore[no-untyped-def]
    await scene.finished(await scene.run(scene.owner, "migrate make", {"cog": "Economy"}), "Made")
    engine = MigrationEngine.for_bot(scene.bot)
    for index in range(steps - 1):
        await engine.make("economy", message=f"step {index + 2}", empty=True)
    await scene.finished(await scene.run(scene.owner, "migrate upgrade"), "Upgrade done")


async def test_downgrade_asks_and_only_the_invoker_confirms(
    db_url: str, cog_project: CogProject
) -> None:
    write_cogs(cog_project, moderation=False)
    async with running_bot(db_url, cog_project, extensions=("cogs.economy",), team=True) as scene:
        await _made_and_applied(scene)
        engine = MigrationEngine.for_bot(scene.bot)

        handle = await scene.run(scene.owner, "migrate downgrade", {"cog": "Economy"})
        await scene.finished(handle, "This will undo 1 migration")
        assert (await engine.current(["economy"])) == {"economy": "0002"}
        other = await scene.discord.click(scene.admin, handle, label="Confirm")
        refusal = await other.wait_done()
        assert refusal.ephemeral
        assert "Only the person who started" in (refusal.content or "")
        assert (await engine.current(["economy"])) == {"economy": "0002"}

        await scene.discord.click(scene.owner, handle, label="Confirm")
        reply = await scene.finished(handle, "Downgrade done")
        assert "Economy: 0002 → 0001" in reply.embeds[0]["description"]
        shown = handle.message  # the message as Discord shows it now
        assert shown is not None
        assert not shown.content  # "Confirmed, working…" is gone
        assert shown.components == []  # and so are the buttons
        assert (await engine.current(["economy"])) == {"economy": "0001"}

        cancel = await scene.run(scene.owner, "migrate downgrade", {"cog": "Economy"})
        await scene.finished(cancel, "This will undo")
        await scene.discord.click(scene.owner, cancel, label="Cancel")
        await scene.finished(cancel, "Cancelled. Nothing changed.")
        assert (await engine.current(["economy"])) == {"economy": "0001"}
        assert "economy_wallets" in await table_names(db_url)


async def test_downgrade_times_out_without_change(db_url: str, cog_project: CogProject) -> None:
    write_cogs(cog_project, moderation=False)
    extras = {"confirm_timeout": 0.5}
    async with running_bot(
        db_url, cog_project, extensions=("cogs.economy",), extras=extras
    ) as scene:
        await _made_and_applied(scene, steps=1)
        handle = await scene.run(
            scene.owner, "migrate downgrade", {"cog": "Economy", "target": "base"}
        )
        await scene.finished(handle, "Timed out waiting for confirmation")
        engine = MigrationEngine.for_bot(scene.bot)
        assert (await engine.current(["economy"])) == {"economy": "0001"}


async def test_result_goes_to_the_channel_after_the_token_lifetime(
    db_url: str, cog_project: CogProject
) -> None:
    write_cogs(cog_project, moderation=False)
    extras = {"token_lifetime": 0.0}
    async with running_bot(
        db_url, cog_project, extensions=("cogs.economy",), extras=extras
    ) as scene:
        handle = await scene.run(scene.owner, "migrate make", {"cog": "Economy"})
        await handle.wait_acknowledged()
        message = await scene.discord.wait_for_message(
            scene.general, lambda m: "Made migration" in (m.content or "")
        )
        assert message.files[0].filename == "0001_create_wallets.py"
        assert f"<@{scene.owner.id}>" in message.content


async def test_heartbeats_keep_arriving_while_a_migration_runs(
    db_url: str, cog_project: CogProject
) -> None:
    """Migration work runs off the bot's event loop: while a migration's upgrade() blocks for
    several heartbeat intervals (a real time.sleep), the bot's heartbeats keep arriving.
    Work run on the loop would let none arrive until it ended. Speed is measured in bench/."""
    write_cogs(cog_project, moderation=False)
    marks = cog_project.root / "marks"
    async with running_bot(
        db_url, cog_project, extensions=("cogs.economy",), heartbeat_interval=0.1
    ) as scene:
        made = await MigrationEngine.for_bot(scene.bot).make("economy")
        assert made.path is not None
        text = made.path.read_text()
        # upgrade() notes the monotonic clock when it starts and ends, and blocks in between
        # for 15 heartbeat intervals.
        slow = (
            "def upgrade() -> None:\n"
            "    import pathlib, time\n"
            f"    marks = pathlib.Path({str(marks)!r})\n"
            "    marks.write_text(f'{time.monotonic()}\\n')\n"
            "    time.sleep(1.5)\n"
            "    marks.write_text(marks.read_text() + f'{time.monotonic()}\\n')\n"
        )
        assert "def upgrade() -> None:\n" in text
        made.path.write_text(text.replace("def upgrade() -> None:\n", slow, 1))
        upgrade = await scene.run(scene.owner, "migrate upgrade")
        await scene.finished(upgrade, "Upgrade done", timeout=60)
        start, end = (float(line) for line in marks.read_text().split())
        session = scene.discord.gateway.session
        assert session is not None
        during = [beat for beat in session.heartbeats if start < beat < end]
        # About 15 arrive; fewer than 5 means the loop was blocked for most of the work.
        assert len(during) >= 5, (len(during), session.heartbeats)
        assert "economy_wallets" in await table_names(db_url)


async def test_upgrade_that_drops_a_column_asks_first(db_url: str, cog_project: CogProject) -> None:
    write_cogs(cog_project, moderation=False)
    async with running_bot(db_url, cog_project, extensions=("cogs.economy",)) as scene:
        await _made_and_applied(scene, steps=1)
        change_wallet(cog_project, None)  # drop the balance field
        scene.bot.reload_extension("cogs.economy")
        make = await scene.run(scene.owner, "migrate make", {"cog": "Economy"})
        reply = await scene.finished(make, "Made migration")
        fields = {f["name"]: f["value"] for f in reply.embeds[0]["fields"]}
        assert "drops column economy_wallets.balance" in fields["Warnings"]

        cancel = await scene.run(scene.owner, "migrate upgrade")
        await scene.finished(cancel, "drop tables, columns, indexes or constraints")
        await scene.discord.click(scene.owner, cancel, label="Cancel")
        await scene.finished(cancel, "Cancelled. Nothing changed.")
        assert "balance" in await columns(db_url, "economy_wallets")

        upgrade = await scene.run(scene.owner, "migrate upgrade")
        await scene.finished(upgrade, "drop tables, columns, indexes or constraints")
        await scene.discord.click(scene.owner, upgrade, label="Confirm")
        reply = await scene.finished(upgrade, "Upgrade done")
        assert "Economy: 0001 → 0002" in reply.embeds[0]["description"]
        assert "balance" not in await columns(db_url, "economy_wallets")


async def test_hostile_slash_options_give_safe_files_or_clear_errors(
    db_url: str, cog_project: CogProject
) -> None:
    write_cogs(cog_project, moderation=False)
    async with running_bot(db_url, cog_project, extensions=("cogs.economy",)) as scene:
        folder = Path(cog_project.root, "cogs", "economy", "migrations")
        make = await scene.run(
            scene.owner, "migrate make", {"cog": "Economy", "message": "../../etc/passwd 💥\x07"}
        )
        reply = await scene.finished(make, "Made migration")
        assert reply.files[0].filename == "0001_etc_passwd.py"
        assert [p.name for p in folder.iterdir() if p.suffix == ".py"] == ["0001_etc_passwd.py"]
        assert not any(p.name == "passwd" for p in cog_project.root.rglob("*"))

        for options, text in [
            ({"cog": "Economy", "target": "zzz"}, "has no revision 'zzz'"),
            ({"cog": "Economy", "target": "../0001"}, "has no revision '../0001'"),
            ({"cog": "..", "target": "head"}, "no loaded cog with models"),
        ]:
            handle = await scene.run(scene.owner, "migrate upgrade", options)
            reply = await scene.finished(handle, text)
            assert reply.embeds[0]["title"] == "Migration command failed"
        assert "economy_wallets" not in await table_names(db_url)
        empty = await scene.run(scene.owner, "migrate make", {"cog": "Economy", "message": ""})
        await scene.finished(empty, "not applied yet")
        assert len(list(folder.glob("*.py"))) == 1
