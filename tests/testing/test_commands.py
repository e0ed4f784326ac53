"""What the bot registered: commands stored as Discord stores them, global and per guild."""

from __future__ import annotations

import pytest
from localdiscord_sample import NEXTCORD_MAJOR, SampleBot, Scene

from nextcord_ormar.testing import CommandNotAvailable, LocalDiscord, OptionType


async def test_sync_stores_global_commands_with_ids_and_options(
    discord: LocalDiscord, bot: SampleBot
) -> None:
    assert discord.commands.names() == [
        "admin",
        "announce",
        "confirm",
        "dmme",
        "emojis",
        "feedback",
        "later",
        "limits",
        "migrate",
        "pick",
        "progress",
        "report",
        "secret",
        "slow",
        "stall",
        "twice",
    ]
    migrate = discord.commands.get("migrate")
    assert migrate["application_id"] == str(discord.application.id)
    assert int(migrate["id"]) > 0
    assert migrate["type"] == 1
    subcommands = {o["name"]: o for o in migrate["options"]}
    assert subcommands["make"]["type"] == OptionType.SUB_COMMAND
    assert subcommands["history"]["type"] == OptionType.SUB_COMMAND_GROUP
    assert [o["name"] for o in subcommands["history"]["options"]] == ["show"]
    make_options = {o["name"]: o for o in subcommands["make"]["options"]}
    assert make_options["cog"]["type"] == OptionType.STRING
    assert make_options["cog"]["autocomplete"] is True
    assert make_options["cog"]["required"] is True
    assert make_options["message"].get("required", False) is False
    upgrade_options = {o["name"]: o for o in subcommands["upgrade"]["options"]}
    assert upgrade_options["steps"]["type"] == OptionType.INTEGER
    assert upgrade_options["steps"]["min_value"] == 1
    assert upgrade_options["dry_run"]["type"] == OptionType.BOOLEAN
    assert upgrade_options["notify"]["type"] == OptionType.USER


async def test_default_member_permissions_and_dm_permission_are_stored(
    discord: LocalDiscord, bot: SampleBot
) -> None:
    assert discord.commands.get("admin")["default_member_permissions"] == str(1 << 5)
    assert discord.commands.get("report")["default_member_permissions"] is None
    migrate = discord.commands.get("migrate")
    if NEXTCORD_MAJOR < 3:
        assert migrate["dm_permission"] is False
    else:
        assert migrate["contexts"] == [0]


async def test_guild_command_is_stored_for_its_guild_only(
    discord: LocalDiscord, scene: Scene, bot: SampleBot
) -> None:
    assert "local" not in discord.commands.names()
    assert discord.commands.names(scene.guild) == ["local"]
    local = discord.commands.get("local", guild=scene.guild)
    assert local["guild_id"] == str(scene.guild.id)
    handle = await discord.slash(scene.bob, scene.general, "local")
    assert (await handle.wait_done()).content == "local ok"


async def test_restarting_the_bot_keeps_command_ids_and_registers_nothing_new(
    discord: LocalDiscord, scene: Scene
) -> None:
    async with discord.run_bot(SampleBot(guild_command_guild=scene.guild.id)):
        first = {c["name"]: c["id"] for c in discord.commands.all()}
    seen = len(discord.requests)
    async with discord.run_bot(SampleBot(guild_command_guild=scene.guild.id)):
        second = {c["name"]: c["id"] for c in discord.commands.all()}
    assert first == second
    writes = [r for r in discord.requests[seen:] if "/commands" in r.path and r.method != "GET"]
    assert writes == []


async def test_bulk_overwrite_replaces_the_set(discord: LocalDiscord, bot: SampleBot) -> None:
    await bot.http.bulk_upsert_global_commands(
        discord.application.id,
        [{"name": "only", "description": "the only one", "type": 1}],
    )
    assert discord.commands.names() == ["only"]


async def test_invalid_command_name_is_a_400(discord: LocalDiscord, bot: SampleBot) -> None:
    import nextcord

    with pytest.raises(nextcord.HTTPException) as caught:
        await bot.http.upsert_global_command(
            discord.application.id, {"name": "Bad Name", "description": "x", "type": 1}
        )
    assert caught.value.status == 400
    assert caught.value.code == 50035


async def test_users_cannot_reach_hidden_or_unknown_commands(
    discord: LocalDiscord, scene: Scene, bot: SampleBot
) -> None:
    with pytest.raises(CommandNotAvailable, match="default_member_permissions"):
        await discord.slash(scene.bob, scene.general, "admin")
    with pytest.raises(CommandNotAvailable, match="no command /nope"):
        await discord.slash(scene.bob, scene.general, "nope")
    with pytest.raises(CommandNotAvailable, match="DMs"):
        await discord.slash(scene.bob, discord.dm_channel(scene.bob), "migrate make", {"cog": "x"})
    handle = await discord.slash(scene.carol, scene.general, "admin")
    assert (await handle.wait_done()).content == "admin ok"
    handle = await discord.slash(scene.bob, scene.general, "admin", check_permissions=False)
    assert (await handle.wait_done()).content == "admin ok"


async def test_bad_options_are_the_tests_mistake(
    discord: LocalDiscord, scene: Scene, bot: SampleBot
) -> None:
    with pytest.raises(ValueError, match="needs a subcommand"):
        await discord.slash(scene.bob, scene.general, "migrate")
    with pytest.raises(ValueError, match="needs option"):
        await discord.slash(scene.bob, scene.general, "migrate make")
    with pytest.raises(ValueError, match="no option"):
        await discord.slash(scene.bob, scene.general, "migrate make", {"cog": "a", "x": 1})
    with pytest.raises(ValueError, match="not a choice"):
        await discord.slash(scene.bob, scene.general, "migrate history show", {"cog": "nope"})
    with pytest.raises(TypeError, match="integer"):
        await discord.slash(scene.bob, scene.general, "migrate upgrade", {"steps": "2"})
