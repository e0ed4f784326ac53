"""Who counts as the bot's owner for /migrate, on a team-owned application.

The team's owner always; accepted members whose role is admin or developer; not invited
members, not read-only members, and not someone taken off the team while the bot runs.
``owner_ids=`` narrows that further. Driven through the local Discord with a real bot.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nextcord
import pytest

from nextcord_ormar import Bot
from nextcord_ormar.testing import (
    InteractionHandle,
    LocalDiscord,
    MembershipState,
    Permission,
    Team,
    User,
)
from tests.conftest import CogProject
from tests.discord_harness import Scene, record_everything_sent, table_names
from tests.sample_cogs import write_cogs

# The rule is about Discord, not the database: SQLite is enough.
pytestmark = pytest.mark.parametrize("backend", ["sqlite"])

REFUSED = "Only the bot's owner can use /migrate. Nothing was run."


@dataclass
class TeamScene:
    scene: Scene
    team: Team
    people: dict[str, User]

    async def run(
        self, who: str, command: str, options: dict[str, Any] | None = None
    ) -> InteractionHandle:
        return await self.scene.run(self.people[who], command, options)


@contextlib.asynccontextmanager
async def team_bot(
    db_url: str,
    project: CogProject,
    *,
    extras: Callable[[dict[str, User]], dict[str, Any]] | None = None,
) -> AsyncIterator[TeamScene]:
    """A team-owned bot: ``lead`` owns the team, ``admin`` and ``dev`` are accepted members,
    ``invited`` was invited as an admin and never accepted, ``reader`` is read-only and
    ``outsider`` is no member. All of them are administrators of the guild."""
    write_cogs(project, moderation=False)
    async with LocalDiscord(heartbeat_interval=0.5) as discord:
        names = ("lead", "admin", "dev", "invited", "reader", "outsider")
        people = {name: discord.create_user(name) for name in names}
        guild = discord.create_guild("Bot HQ", owner=people["lead"], channels=["general"])
        admins = guild.create_role("admins", Permission.ADMINISTRATOR)
        for name in names[1:]:
            guild.add_member(people[name], roles=[admins])
        team = discord.set_team([people["lead"], people["admin"]], name="Maintainers")
        team.add_member(people["dev"], role="developer")
        team.add_member(people["invited"], role="admin", invited=True)
        team.add_member(people["reader"], role="read_only")
        bot = Bot(database_url=db_url, intents=nextcord.Intents.default(), guild_ready_timeout=0.05)
        bot.load_extension("cogs.economy")
        options = {"guild_ids": [guild.id], "progress_interval": 0.0}
        options |= extras(people) if extras else {}
        bot.load_extension("nextcord_ormar.admin_cog", extras=options)
        try:
            async with discord.run_bot(bot):
                general = guild.channel("general")
                scene = Scene(
                    discord,
                    bot,
                    guild,
                    general,
                    people["lead"],
                    people["admin"],
                    people["outsider"],
                )
                yield TeamScene(scene, team, people)
        finally:
            record_everything_sent(discord)
        assert not discord.unknown_routes, [str(r) for r in discord.unknown_routes]
        assert not discord.server_errors, [str(r) for r in discord.server_errors]


async def refused(handle: InteractionHandle) -> None:
    """Refused with the owner-only answer, and nothing else sent."""
    reply = await handle.wait_done()
    assert reply.ephemeral
    assert reply.content == REFUSED
    await asyncio.sleep(0.2)
    assert len(handle.replies) == 1


async def nothing_written(db_url: str, project: CogProject) -> None:
    assert not Path(project.root, "cogs", "economy", "migrations").exists()
    assert not any(t.startswith(("economy", "alembic")) for t in await table_names(db_url))


async def test_the_local_discord_reports_roles_and_membership_states(
    db_url: str, cog_project: CogProject
) -> None:
    async with team_bot(db_url, cog_project) as ts:
        info = await ts.scene.bot.http.application_info()
        members = {m["user"]["username"]: m for m in info["team"]["members"]}
        assert info["team"]["owner_user_id"] == str(ts.people["lead"].id)
        assert {name: (m["membership_state"], m["role"]) for name, m in members.items()} == {
            "lead": (2, "admin"),
            "admin": (2, "admin"),
            "dev": (2, "developer"),
            "invited": (1, "admin"),
            "reader": (2, "read_only"),
        }
        assert ts.scene.discord.team is ts.team
        assert ts.team.membership_state(ts.people["invited"]) is MembershipState.INVITED
        with pytest.raises(ValueError, match="team role is one of"):
            ts.team.set_role(ts.people["dev"], "owner")
        with pytest.raises(ValueError, match="cannot be removed"):
            ts.team.remove_member(ts.people["lead"])
        with pytest.raises(ValueError, match="not in the team"):
            ts.team.set_role(ts.people["outsider"], "admin")


async def test_an_invited_member_cannot_make_and_nothing_is_written(
    db_url: str, cog_project: CogProject
) -> None:
    async with team_bot(db_url, cog_project) as ts:
        await refused(await ts.run("invited", "migrate make", {"cog": "Economy"}))
        await refused(await ts.run("invited", "migrate upgrade"))
        choices = await ts.scene.discord.autocomplete(
            ts.people["invited"], ts.scene.general, "migrate make", "cog", {"cog": ""}
        )
        assert await choices.wait_choices() == []
        await nothing_written(db_url, cog_project)


async def test_a_read_only_member_cannot_show_or_write(
    db_url: str, cog_project: CogProject
) -> None:
    async with team_bot(db_url, cog_project) as ts:
        await refused(await ts.run("reader", "migrate show"))
        await refused(
            await ts.run("reader", "migrate stamp", {"cog": "Economy", "revision": "head"})
        )
        await refused(await ts.run("reader", "migrate make", {"cog": "Economy"}))
        await refused(await ts.run("outsider", "migrate show"))
        await nothing_written(db_url, cog_project)


async def test_accepted_developers_admins_and_the_team_owner_are_served(
    db_url: str, cog_project: CogProject
) -> None:
    async with team_bot(db_url, cog_project) as ts:
        made = await ts.run("dev", "migrate make", {"cog": "Economy"})
        await ts.scene.finished(made, "Made migration")
        upgraded = await ts.run("admin", "migrate upgrade")
        await ts.scene.finished(upgraded, "Upgrade done")
        assert "economy_wallets" in await table_names(db_url)
        choices = await ts.scene.discord.autocomplete(
            ts.people["dev"], ts.scene.general, "migrate make", "cog", {"cog": "eco"}
        )
        assert [c["value"] for c in await choices.wait_choices()] == ["Economy"]
        # The team's owner is an owner whatever its member entry says.
        ts.team.set_role(ts.people["lead"], "read_only")
        shown = await ts.run("lead", "migrate show")
        await ts.scene.finished(shown, "Migration status")
        # Accepting the invitation makes the invited admin an owner (seen at the next write).
        ts.team.accept(ts.people["invited"])
        again = await ts.run("invited", "migrate make", {"cog": "Economy"})
        await ts.scene.finished(again, "No changes for Economy")


async def test_a_member_taken_off_the_team_is_refused_on_the_next_write(
    db_url: str, cog_project: CogProject
) -> None:
    # A long refresh timer: only the refresh before every write can notice the change.
    async with team_bot(db_url, cog_project, extras=lambda p: {"owner_refresh": 3600.0}) as ts:
        shown = await ts.run("dev", "migrate show")
        await ts.scene.finished(shown, "Migration status")
        ts.team.remove_member(ts.people["dev"])
        await refused(await ts.run("dev", "migrate make", {"cog": "Economy"}))
        await nothing_written(db_url, cog_project)
        # A demoted admin likewise.
        ts.team.set_role(ts.people["admin"], "read_only")
        await refused(await ts.run("admin", "migrate upgrade"))
        await nothing_written(db_url, cog_project)


async def test_without_a_cache_reads_see_a_changed_role_at_once(
    db_url: str, cog_project: CogProject
) -> None:
    async with team_bot(db_url, cog_project, extras=lambda p: {"owner_refresh": 0.0}) as ts:
        shown = await ts.run("dev", "migrate show")
        await ts.scene.finished(shown, "Migration status")
        ts.team.set_role(ts.people["dev"], "read_only")
        await refused(await ts.run("dev", "migrate show"))
        ts.team.set_role(ts.people["dev"], "developer")
        again = await ts.run("dev", "migrate show")
        await ts.scene.finished(again, "Migration status")


async def test_owner_ids_narrows_the_rule_and_never_widens_it(
    db_url: str, cog_project: CogProject
) -> None:
    def narrowed(people: dict[str, User]) -> dict[str, Any]:
        listed = ("dev", "invited", "reader", "outsider")
        return {"owner_ids": [people[name].id for name in listed]}

    async with team_bot(db_url, cog_project, extras=narrowed) as ts:
        for who in ("lead", "admin"):  # owners by the rule, but not listed
            await refused(await ts.run(who, "migrate show"))
        for who in ("invited", "reader", "outsider"):  # listed, but not owners by the rule
            await refused(await ts.run(who, "migrate make", {"cog": "Economy"}))
        await nothing_written(db_url, cog_project)
        made = await ts.run("dev", "migrate make", {"cog": "Economy"})
        await ts.scene.finished(made, "Made migration")


async def test_a_bad_owner_ids_option_is_refused_when_the_cog_loads(
    db_url: str, cog_project: CogProject
) -> None:
    write_cogs(cog_project, moderation=False)
    bot = Bot(database_url=db_url, intents=nextcord.Intents.default())
    for bad in ({"owner_ids": "1234"}, {"owner_ids": [True]}, {"owner_refresh": -1}):
        with pytest.raises(nextcord.ext.commands.ExtensionFailed) as failed:
            bot.load_extension("nextcord_ormar.admin_cog", extras=bad)
        assert "owner_" in str(failed.value.original)


async def test_when_discord_cannot_be_asked_nobody_is_an_owner(
    db_url: str, cog_project: CogProject, caplog: pytest.LogCaptureFixture
) -> None:
    async with team_bot(db_url, cog_project, extras=lambda p: {"owner_refresh": 0.0}) as ts:
        shown = await ts.run("lead", "migrate show")
        await ts.scene.finished(shown, "Migration status")
        ts.scene.discord.application.unavailable = True
        await refused(await ts.run("lead", "migrate show"))
        await refused(await ts.run("dev", "migrate make", {"cog": "Economy"}))
        await nothing_written(db_url, cog_project)
        assert "could not read the application's owners" in caplog.text
        ts.scene.discord.application.unavailable = False
        made = await ts.run("dev", "migrate make", {"cog": "Economy"})
        await ts.scene.finished(made, "Made migration")


async def test_a_member_taken_off_the_team_before_confirming_runs_nothing(
    db_url: str, cog_project: CogProject
) -> None:
    async with team_bot(db_url, cog_project, extras=lambda p: {"owner_refresh": 3600.0}) as ts:
        await ts.scene.finished(await ts.run("dev", "migrate make", {"cog": "Economy"}), "Made")
        await ts.scene.finished(await ts.run("dev", "migrate upgrade"), "Upgrade done")
        asked = await ts.run("dev", "migrate downgrade", {"cog": "Economy"})
        await ts.scene.finished(asked, "This will undo 1 migration")
        ts.team.remove_member(ts.people["dev"])  # while the question waits
        await ts.scene.discord.click(ts.people["dev"], asked, label="Confirm")
        reply = await ts.scene.finished(asked, "Not confirmed")
        assert "no longer one of the bot's owners" in (reply.content or "")
        assert "economy_wallets" in await table_names(db_url)  # nothing was undone
        shown = await ts.run("admin", "migrate history", {"cog": "Economy"})
        assert "0001" in str((await ts.scene.finished(shown, "History")).embeds)
