"""Acting as users: slash commands, autocomplete, buttons; what the bot answered, in order."""

from __future__ import annotations

import nextcord
import pytest
from localdiscord_sample import SampleBot, Scene

from nextcord_ormar.testing import LocalDiscord, RecordedFile


async def test_subcommand_with_options_gets_a_message(
    discord: LocalDiscord, scene: Scene, bot: SampleBot
) -> None:
    handle = await discord.slash(
        scene.bob, scene.general, "migrate make", {"cog": "economy", "message": "add wallet"}
    )
    reply = await handle.wait_done()
    assert reply.kind == "message"
    assert reply.content == "made economy: add wallet"
    assert not reply.ephemeral
    assert handle.replies == [reply]
    assert reply.at >= handle.created_at
    # A non-ephemeral reply is a message in the channel, marked as an interaction reply.
    assert scene.general.messages[-1].content == "made economy: add wallet"
    assert scene.general.messages[-1].interaction_id == handle.id
    assert scene.general.plain_messages == []


async def test_typed_options_reach_the_callback_and_ephemeral_is_recorded(
    discord: LocalDiscord, scene: Scene, bot: SampleBot
) -> None:
    handle = await discord.slash(
        scene.alice,
        scene.general,
        "migrate upgrade",
        {"steps": 3, "dry_run": True, "notify": scene.carol},
    )
    reply = await handle.wait_done()
    assert reply.content == "upgrade steps=3 dry_run=True notify=carol"
    assert reply.ephemeral
    assert handle.ephemeral
    # Ephemeral replies are not visible in the channel.
    assert scene.general.messages == []


async def test_subcommand_group(discord: LocalDiscord, scene: Scene, bot: SampleBot) -> None:
    handle = await discord.slash(scene.bob, scene.general, "migrate history show", {"cog": "music"})
    assert (await handle.wait_done()).content == "history of music"


async def test_autocomplete_returns_the_bots_choices(
    discord: LocalDiscord, scene: Scene, bot: SampleBot
) -> None:
    handle = await discord.autocomplete(
        scene.bob, scene.general, "migrate make", "cog", {"cog": "e"}
    )
    choices = await handle.wait_choices()
    assert choices == [
        {"name": "economy", "value": "economy"},
        {"name": "events", "value": "events"},
    ]
    assert handle.initial is not None
    assert handle.initial.kind == "autocomplete"


async def test_defer_then_followup_with_two_files(
    discord: LocalDiscord, scene: Scene, bot: SampleBot
) -> None:
    handle = await discord.slash(scene.bob, scene.general, "report")
    first = await handle.wait_acknowledged()
    assert first.kind == "deferred"
    final = await handle.wait_done()
    assert final.kind == "followup"
    assert final.content == "report ready"
    assert [f.filename for f in final.files] == ["report.csv", "log.txt"]
    assert final.file("report.csv").data == b"cog,rev\neconomy,abc\n"
    assert final.file("log.txt").text() == "all good\n"
    assert [r.kind for r in handle.replies] == ["deferred", "followup"]
    assert handle.replies[0].at <= handle.replies[1].at
    # The first followup after a defer fills in the "thinking..." message.
    assert handle.message is not None
    assert not handle.message.loading
    assert handle.message.content == "report ready"


async def test_bot_can_download_what_it_uploaded(
    discord: LocalDiscord, scene: Scene, bot: SampleBot
) -> None:
    handle = await discord.slash(scene.bob, scene.general, "report")
    await handle.wait_done()
    assert handle.message is not None
    channel = bot.get_channel(scene.general.id)
    assert isinstance(channel, nextcord.TextChannel)
    message = await channel.fetch_message(handle.message.id)
    contents = [await a.read() for a in message.attachments]
    assert contents == [b"cog,rev\neconomy,abc\n", b"all good\n"]


async def test_edits_of_the_original_response_are_recorded_in_order(
    discord: LocalDiscord, scene: Scene, bot: SampleBot
) -> None:
    handle = await discord.slash(scene.bob, scene.general, "progress")
    await handle.wait_for(lambda h: len(h.edits) == 2)
    assert [(r.kind, r.content) for r in handle.replies] == [
        ("message", "working..."),
        ("edit", "step 1 of 2"),
        ("edit", "done"),
    ]
    assert handle.edits[-1].embeds[0]["title"] == "Result"
    assert (await handle.wait_text("2 steps")).text == "done\nResult\n2 steps"
    assert (await handle.wait_reply(lambda r: r.kind == "message")).content == "working..."
    assert handle.message is not None
    assert handle.message.content == "done"
    assert handle.message.edits == 2


async def test_buttons_on_a_view(discord: LocalDiscord, scene: Scene, bot: SampleBot) -> None:
    handle = await discord.slash(scene.bob, scene.general, "confirm")
    reply = await handle.wait_done()
    assert reply.content == "Are you sure?"
    assert handle.message is not None
    assert [b["label"] for b in handle.message.buttons()] == ["Yes", "No"]

    no = await discord.click(scene.bob, handle, label="No")
    answer = await no.wait_done()
    assert (answer.kind, answer.content, answer.ephemeral) == ("message", "Cancelled", True)

    yes = await discord.click(scene.bob, handle.message, custom_id="confirm:yes")
    update = await yes.wait_done()
    assert update.kind == "update"
    assert handle.message.content == "Confirmed"
    assert handle.message.components == []
    with pytest.raises(LookupError, match="no component"):
        await discord.click(scene.bob, handle, label="Yes")


async def test_select_menu(discord: LocalDiscord, scene: Scene, bot: SampleBot) -> None:
    handle = await discord.slash(scene.bob, scene.general, "pick")
    await handle.wait_done()
    chosen = await discord.select(scene.bob, handle, "cogs", ["music", "events"])
    assert (await chosen.wait_done()).content == "picked music, events"


async def test_modal_submit(discord: LocalDiscord, scene: Scene, bot: SampleBot) -> None:
    handle = await discord.slash(scene.bob, scene.general, "feedback")
    opened = await handle.wait_done()
    assert opened.kind == "modal"
    assert opened.data["title"] == "Feedback"
    submitted = await discord.submit_modal(scene.bob, handle, {"Your feedback": "great bot"})
    reply = await submitted.wait_done()
    assert (reply.content, reply.ephemeral) == ("thanks for: great bot", True)
    with pytest.raises(ValueError, match="needs values"):
        await discord.submit_modal(scene.bob, handle, {})


async def test_owner_only_command_with_a_single_owner(
    discord: LocalDiscord, scene: Scene, bot: SampleBot
) -> None:
    owner = await discord.slash(scene.alice, scene.general, "secret")
    assert (await owner.wait_done()).content == "owner ok"
    other = await discord.slash(scene.bob, scene.general, "secret")
    assert (await other.wait_done()).content == "not owner"


async def test_owner_only_command_with_a_team(discord: LocalDiscord, scene: Scene) -> None:
    discord.set_team([scene.carol, scene.bob], name="Maintainers")
    async with discord.run_bot(SampleBot()):
        for user, expected in [
            (scene.carol, "owner ok"),
            (scene.bob, "owner ok"),
            (scene.alice, "not owner"),
        ]:
            handle = await discord.slash(user, scene.general, "secret")
            assert (await handle.wait_done()).content == expected, user.name


async def test_channel_messages_outside_interactions_are_recorded(
    discord: LocalDiscord, scene: Scene, bot: SampleBot
) -> None:
    handle = await discord.slash(scene.bob, scene.general, "announce")
    await handle.wait_done()
    message = await discord.wait_for_message(scene.general)
    assert message.interaction_id is None
    assert scene.general.plain_messages == [message]
    assert message.content == "Release notes"
    assert message.embeds[0]["title"] == "v2"
    assert [(f.filename, f.data) for f in message.files] == [("CHANGES.md", b"# changes\n")]


async def test_commands_in_dms_and_direct_messages_from_the_bot(
    discord: LocalDiscord, scene: Scene, bot: SampleBot
) -> None:
    dm = discord.dm_channel(scene.outsider)
    handle = await discord.slash(scene.outsider, dm, "progress")
    await handle.wait_for(lambda h: len(h.edits) == 2)
    assert handle.message is not None
    assert handle.message.content == "done"
    ask = await discord.slash(scene.bob, scene.general, "dmme")
    assert (await ask.wait_done()).content == "check your DMs"
    message = await discord.wait_for_message(discord.dm_channel(scene.bob))
    assert message.content == "psst"


async def test_attachment_option_reaches_the_bot(discord: LocalDiscord, scene: Scene) -> None:
    bot = SampleBot()
    received: list[bytes] = []

    @bot.slash_command(name="upload", description="Takes a file")
    async def upload(
        interaction: nextcord.Interaction,
        file: nextcord.Attachment = nextcord.SlashOption(description="A file"),
    ) -> None:
        received.append(await file.read())
        await interaction.response.send_message(f"got {file.filename}")

    async with discord.run_bot(bot):
        handle = await discord.slash(
            scene.bob,
            scene.general,
            "upload",
            {"file": RecordedFile(filename="m.py", data=b"print(1)\n")},
        )
        assert (await handle.wait_done()).content == "got m.py"
    assert received == [b"print(1)\n"]


async def test_a_user_message_reaches_a_prefix_command(discord: LocalDiscord, scene: Scene) -> None:
    intents = nextcord.Intents.default()
    intents.message_content = True
    bot = SampleBot(command_prefix="!", intents=intents)

    @bot.command(name="hello")
    async def hello(ctx: object) -> None:
        await ctx.send("hello there")  # type: ignore[attr-defined]

    async with discord.run_bot(bot):
        await discord.send_message(scene.bob, scene.general, "!hello")
        reply = await discord.wait_for_message(scene.general)
        assert reply.content == "hello there"
