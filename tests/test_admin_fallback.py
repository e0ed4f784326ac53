"""/migrate after the interaction token's lifetime: one channel message, edited; safe mentions."""

from __future__ import annotations

from nextcord_ormar.testing.messages import RecordedMessage
from tests.conftest import CogProject
from tests.discord_harness import running_bot
from tests.sample_cogs import write_cogs


def text(message: RecordedMessage) -> str:
    return message.content + str(message.embeds)


async def test_the_channel_fallback_edits_one_message_and_pings_only_the_invoker(
    db_url: str, cog_project: CogProject
) -> None:
    write_cogs(cog_project, moderation=False)
    extras = {"token_lifetime": 0.0, "progress_interval": 0.0}
    async with running_bot(
        db_url, cog_project, extensions=("cogs.economy",), extras=extras
    ) as scene:
        general = scene.general
        handle = await scene.run(
            scene.owner, "migrate make", {"cog": "Economy", "message": "@everyone wallets"}
        )
        await handle.wait_acknowledged()
        await scene.discord.wait_for_message(general, lambda m: "Made migration" in text(m))
        made = [m for m in general.messages if m.interaction_id is None]

        handle = await scene.run(scene.owner, "migrate upgrade", {})
        await handle.wait_acknowledged()
        done = await scene.discord.wait_for_message(general, lambda m: "Upgrade done" in text(m))
        posted = [m for m in general.messages if m.interaction_id is None and m not in made]
        assert posted == [done], [m.content for m in posted]  # progress edits the same message
        assert any("@everyone" in text(m) for m in made)  # shown, and (below) no ping
        for message in made + posted:
            assert f"<@{scene.owner.id}>" in message.content
            mentions = message.allowed_mentions
            assert mentions is not None, message.content
            assert mentions.get("parse") == [], mentions
            assert [int(u) for u in mentions.get("users", [])] == [scene.owner.id], mentions
