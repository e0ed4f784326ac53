"""Discord's rules, enforced the way Discord answers, so a bot that breaks them fails its tests."""

from __future__ import annotations

import aiohttp
import pytest
from localdiscord_sample import SampleBot, Scene

from nextcord_ormar.testing import LocalDiscord


async def test_acknowledging_after_the_deadline_is_unknown_interaction(
    discord: LocalDiscord, scene: Scene, bot: SampleBot
) -> None:
    discord.ack_deadline = 0.2
    bot.slow_seconds = 0.4
    handle = await discord.slash(scene.bob, scene.general, "slow")
    rejection = await handle.wait_rejection()
    assert (rejection.status, rejection.code) == (404, 10062)
    assert rejection.message == "Unknown interaction"
    assert handle.initial is None
    assert not handle.acknowledged
    await discord.wait_until(lambda: bot.http_errors)
    assert [(e.status, e.code) for e in bot.http_errors] == [(404, 10062)]


def test_the_default_deadline_is_discords_three_seconds() -> None:
    assert LocalDiscord().ack_deadline == 3.0
    assert LocalDiscord().token_lifetime == 15 * 60


async def test_acknowledging_twice_is_a_400(
    discord: LocalDiscord, scene: Scene, bot: SampleBot
) -> None:
    handle = await discord.slash(scene.bob, scene.general, "twice")
    rejection = await handle.wait_rejection()
    assert (rejection.status, rejection.code) == (400, 40060)
    assert len([r for r in handle.replies if r.kind in ("message", "deferred")]) == 1
    await discord.wait_until(lambda: bot.http_errors)
    assert [(e.status, e.code) for e in bot.http_errors] == [(400, 40060)]


async def test_a_second_callback_from_anyone_is_rejected(
    discord: LocalDiscord, scene: Scene, bot: SampleBot
) -> None:
    handle = await discord.slash(scene.bob, scene.general, "migrate make", {"cog": "economy"})
    await handle.wait_done()
    url = f"{discord.api_url}/interactions/{handle.id}/{handle.token}/callback"
    body = {"type": 4, "data": {"content": "again"}}
    async with aiohttp.ClientSession() as session, session.post(url, json=body) as response:
        assert response.status == 400
        assert response.headers["Content-Type"] == "application/json"
        assert (await response.json())["code"] == 40060
    assert handle.rejections[-1].code == 40060


async def test_the_interaction_token_expires_after_fifteen_minutes(
    discord: LocalDiscord, scene: Scene, bot: SampleBot
) -> None:
    handle = await discord.slash(scene.bob, scene.general, "later")
    deferred = await handle.wait_acknowledged()
    assert deferred.kind == "deferred"
    assert deferred.ephemeral
    discord.clock.advance(15 * 60 + 1)
    bot.gate.set()
    rejection = await handle.wait_rejection()
    assert (rejection.status, rejection.code) == (401, 50027)
    assert handle.followups == []
    assert not handle.done


async def test_the_token_still_works_within_fifteen_minutes(
    discord: LocalDiscord, scene: Scene, bot: SampleBot
) -> None:
    handle = await discord.slash(scene.bob, scene.general, "later")
    await handle.wait_acknowledged()
    discord.clock.advance(14 * 60)
    bot.gate.set()
    final = await handle.wait_done()
    assert (final.kind, final.content) == ("followup", "finally")
    assert handle.message is not None
    assert handle.message.ephemeral


@pytest.mark.parametrize(
    ("what", "field"),
    [("content", "content"), ("embeds", "embeds"), ("files", "attachments")],
)
async def test_message_limits_are_400_with_discords_error_body(
    discord: LocalDiscord, scene: Scene, bot: SampleBot, what: str, field: str
) -> None:
    handle = await discord.slash(scene.bob, scene.general, "limits", {"what": what})
    rejection = await handle.wait_rejection()
    assert (rejection.status, rejection.code) == (400, 50035)
    assert handle.initial is None
    await discord.wait_until(lambda: bot.http_errors)
    (error,) = bot.http_errors
    assert error.status == 400
    assert error.code == 50035
    # nextcord flattens Discord's nested "errors" object into its message.
    assert error.text.splitlines()[0] == "Invalid Form Body"
    assert f"In data.{field}: Must be 10 or fewer in length." in error.text or what == "content"
    assert f"In data.{field}:" in error.text


async def test_two_thousand_characters_are_fine(
    discord: LocalDiscord, scene: Scene, bot: SampleBot
) -> None:
    handle = await discord.slash(scene.bob, scene.general, "limits", {"what": "fine"})
    reply = await handle.wait_done()
    assert len(reply.content or "") == 2000
    assert bot.http_errors == []


async def test_more_than_25_autocomplete_choices_is_a_400(
    discord: LocalDiscord, scene: Scene, bot: SampleBot
) -> None:
    handle = await discord.autocomplete(
        scene.bob, scene.general, "limits", "pick", {"what": "fine", "pick": "x"}
    )
    rejection = await handle.wait_rejection()
    assert (rejection.status, rejection.code) == (400, 50035)
    assert handle.choices is None
    await discord.wait_until(lambda: bot.http_errors)
    assert "data.choices" in str(bot.http_errors[0])


async def test_unknown_routes_answer_404_json_and_are_recorded(
    discord: LocalDiscord, scene: Scene, bot: SampleBot
) -> None:
    handle = await discord.slash(scene.bob, scene.general, "emojis")
    await handle.wait_done()
    assert [(e.status, e.code) for e in bot.http_errors] == [(404, 0)]
    assert [(r.method, r.path) for r in discord.unknown_routes] == [
        ("GET", f"/api/v10/guilds/{scene.guild.id}/emojis")
    ]
    discord.unknown_routes.clear()  # expected here; the fixture fails tests that leave any


async def test_bot_routes_need_the_bot_token(discord: LocalDiscord) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{discord.api_url}/users/@me") as response:
            assert response.status == 401
            assert await response.json() == {"message": "401: Unauthorized", "code": 0}
        headers = {"Authorization": f"Bot {discord.token}"}
        async with session.get(f"{discord.api_url}/users/@me", headers=headers) as response:
            assert response.status == 200
            assert (await response.json())["id"] == str(discord.bot_user.id)


async def test_a_wrong_token_fails_login(discord: LocalDiscord) -> None:
    import nextcord

    with pytest.raises(nextcord.LoginFailure):
        async with discord.run_bot(SampleBot(), token="not-the-token"):
            pytest.fail("must not get here")
