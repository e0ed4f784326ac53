"""A small plain nextcord bot (one cog), written the way a bot author would, for the tests."""

from __future__ import annotations

import asyncio
import io
import time
from dataclasses import dataclass
from typing import Any

import nextcord
from nextcord.ext import application_checks, commands

from nextcord_ormar.testing import Channel, Guild, Role, User

NEXTCORD_MAJOR = int(nextcord.version_info.major)

#: nextcord 2.x says "not in DMs" with dm_permission; 3.x with contexts.
GUILD_ONLY: dict[str, Any] = (
    {"dm_permission": False}
    if NEXTCORD_MAJOR < 3
    else {"contexts": [nextcord.InteractionContextType.guild]}
)

COGS = ["economy", "events", "moderation", "music"]


class ConfirmView(nextcord.ui.View):
    """Two buttons; "Yes" edits the message, "No" answers ephemerally."""

    def __init__(self) -> None:
        super().__init__(timeout=None)

    @nextcord.ui.button(label="Yes", custom_id="confirm:yes", style=nextcord.ButtonStyle.green)
    async def yes(self, button: nextcord.ui.Button[Any], interaction: nextcord.Interaction) -> None:
        await interaction.response.edit_message(content="Confirmed", view=None)

    @nextcord.ui.button(label="No", custom_id="confirm:no", style=nextcord.ButtonStyle.red)
    async def no(self, button: nextcord.ui.Button[Any], interaction: nextcord.Interaction) -> None:
        await interaction.response.send_message("Cancelled", ephemeral=True)


class FeedbackModal(nextcord.ui.Modal):
    """A modal with one text input; submitting it answers with what was typed."""

    def __init__(self) -> None:
        super().__init__(title="Feedback", custom_id="feedback", timeout=None)
        self.text = nextcord.ui.TextInput(label="Your feedback", custom_id="feedback:text")
        self.add_item(self.text)

    async def callback(self, interaction: nextcord.Interaction) -> None:
        await interaction.response.send_message(f"thanks for: {self.text.value}", ephemeral=True)


class CogSelect(nextcord.ui.View):
    """A select menu of cogs."""

    def __init__(self) -> None:
        super().__init__(timeout=None)

    @nextcord.ui.select(
        custom_id="cogs",
        placeholder="Pick cogs",
        min_values=1,
        max_values=2,
        options=[nextcord.SelectOption(label=c, value=c) for c in COGS],
    )
    async def chosen(
        self, select: nextcord.ui.StringSelect[Any], interaction: nextcord.Interaction
    ) -> None:
        await interaction.response.send_message(f"picked {', '.join(select.values)}")


class SampleCog(commands.Cog):
    """The commands the issue asks for, written the way a bot author would."""

    def __init__(self, bot: SampleBot) -> None:
        self.bot = bot

    @nextcord.slash_command(name="migrate", description="Manage migrations", **GUILD_ONLY)
    async def migrate(self, interaction: nextcord.Interaction) -> None:
        """Group; never called."""

    @migrate.subcommand(name="make", description="Make a migration")
    async def make(
        self,
        interaction: nextcord.Interaction,
        cog: str = nextcord.SlashOption(description="Cog", autocomplete=True),
        message: str = nextcord.SlashOption(description="Message", required=False, default="auto"),
    ) -> None:
        await interaction.response.send_message(f"made {cog}: {message}")

    @make.on_autocomplete("cog")
    async def make_cog(self, interaction: nextcord.Interaction, cog: str) -> None:
        await interaction.response.send_autocomplete([c for c in COGS if c.startswith(cog)])

    @migrate.subcommand(name="upgrade", description="Upgrade the database")
    async def upgrade(
        self,
        interaction: nextcord.Interaction,
        steps: int = nextcord.SlashOption(description="Steps", min_value=1, default=1),
        dry_run: bool = nextcord.SlashOption(description="Only show SQL", default=False),
        notify: nextcord.Member = nextcord.SlashOption(
            description="Who to tell", required=False, default=None
        ),
    ) -> None:
        who = notify.name if notify is not None else None
        await interaction.response.send_message(
            f"upgrade steps={steps} dry_run={dry_run} notify={who}", ephemeral=True
        )

    @migrate.subcommand(name="history", description="History")
    async def history(self, interaction: nextcord.Interaction) -> None:
        """Subcommand group; never called."""

    @history.subcommand(name="show", description="Show the history of a cog")
    async def history_show(
        self,
        interaction: nextcord.Interaction,
        cog: str = nextcord.SlashOption(description="Cog", choices=COGS),
    ) -> None:
        await interaction.response.send_message(f"history of {cog}")

    @nextcord.slash_command(name="secret", description="Owner only")
    @application_checks.is_owner()
    async def secret(self, interaction: nextcord.Interaction) -> None:
        await interaction.response.send_message("owner ok", ephemeral=True)

    @nextcord.slash_command(
        name="admin",
        description="Needs Manage Server",
        default_member_permissions=nextcord.Permissions(manage_guild=True),
    )
    async def admin(self, interaction: nextcord.Interaction) -> None:
        await interaction.response.send_message("admin ok")

    @nextcord.slash_command(name="report", description="Defer, then a followup with two files")
    async def report(self, interaction: nextcord.Interaction) -> None:
        await interaction.response.defer()
        await asyncio.sleep(0.05)
        await interaction.followup.send(
            "report ready",
            files=[
                nextcord.File(io.BytesIO(b"cog,rev\neconomy,abc\n"), filename="report.csv"),
                nextcord.File(io.BytesIO(b"all good\n"), filename="log.txt"),
            ],
        )

    @nextcord.slash_command(name="progress", description="Edits its original response")
    async def progress(self, interaction: nextcord.Interaction) -> None:
        await interaction.response.send_message("working...")
        await asyncio.sleep(0.02)
        await interaction.edit_original_message(content="step 1 of 2")
        await interaction.edit_original_message(
            content="done", embed=nextcord.Embed(title="Result", description="2 steps")
        )

    @nextcord.slash_command(name="confirm", description="A view with buttons")
    async def confirm(self, interaction: nextcord.Interaction) -> None:
        await interaction.response.send_message("Are you sure?", view=ConfirmView())

    @nextcord.slash_command(name="feedback", description="Opens a modal")
    async def feedback(self, interaction: nextcord.Interaction) -> None:
        await interaction.response.send_modal(FeedbackModal())

    @nextcord.slash_command(name="pick", description="A select menu")
    async def pick(self, interaction: nextcord.Interaction) -> None:
        await interaction.response.send_message("Which cogs?", view=CogSelect())

    @nextcord.slash_command(name="slow", description="Too slow to acknowledge")
    async def slow(self, interaction: nextcord.Interaction) -> None:
        await asyncio.sleep(self.bot.slow_seconds)
        try:
            await interaction.response.send_message("sorry, late")
        except nextcord.HTTPException as error:
            self.bot.http_errors.append(error)

    @nextcord.slash_command(name="twice", description="Acknowledges twice")
    async def twice(self, interaction: nextcord.Interaction) -> None:
        results = await asyncio.gather(
            interaction.response.send_message("first"),
            interaction.response.defer(),
            return_exceptions=True,
        )
        self.bot.http_errors.extend(r for r in results if isinstance(r, nextcord.HTTPException))

    @nextcord.slash_command(name="later", description="Defers, answers when the test says so")
    async def later(self, interaction: nextcord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True)
        await self.bot.gate.wait()
        try:
            await interaction.followup.send("finally")
        except nextcord.HTTPException as error:
            self.bot.http_errors.append(error)

    @nextcord.slash_command(name="limits", description="Breaks a Discord limit")
    async def limits(
        self,
        interaction: nextcord.Interaction,
        what: str = nextcord.SlashOption(
            description="Which", choices=["content", "embeds", "files", "fine"]
        ),
        pick: str = nextcord.SlashOption(description="Many", autocomplete=True, required=False),
    ) -> None:
        kwargs: dict[str, Any] = {}
        if what == "content":
            kwargs["content"] = "x" * 2001
        elif what == "embeds":
            kwargs["embeds"] = [nextcord.Embed(title=str(i)) for i in range(11)]
        elif what == "files":
            kwargs["files"] = [
                nextcord.File(io.BytesIO(b"x"), filename=f"f{i}.txt") for i in range(11)
            ]
        else:
            kwargs["content"] = "x" * 2000
        try:
            await interaction.response.send_message(**kwargs)
        except nextcord.HTTPException as error:
            self.bot.http_errors.append(error)

    @limits.on_autocomplete("pick")
    async def limits_pick(self, interaction: nextcord.Interaction, pick: str) -> None:
        try:
            await interaction.response.send_autocomplete([f"{pick}{i}" for i in range(26)])
        except nextcord.HTTPException as error:
            self.bot.http_errors.append(error)

    @nextcord.slash_command(name="announce", description="Posts to the channel itself")
    async def announce(self, interaction: nextcord.Interaction) -> None:
        assert interaction.channel is not None
        await interaction.channel.send(
            "Release notes",
            embed=nextcord.Embed(title="v2", description="new things"),
            file=nextcord.File(io.BytesIO(b"# changes\n"), filename="CHANGES.md"),
        )
        await interaction.response.send_message("posted", ephemeral=True)

    @nextcord.slash_command(name="dmme", description="Sends the user a direct message")
    async def dmme(self, interaction: nextcord.Interaction) -> None:
        assert interaction.user is not None
        await interaction.user.send("psst")
        await interaction.response.send_message("check your DMs", ephemeral=True)

    @nextcord.slash_command(name="stall", description="Blocks the event loop")
    async def stall(self, interaction: nextcord.Interaction) -> None:
        await interaction.response.defer()
        time.sleep(self.bot.stall_seconds)  # the bug this figure exposes
        await interaction.edit_original_message(content="unstalled")

    @nextcord.slash_command(name="emojis", description="Calls a route the double lacks")
    async def emojis(self, interaction: nextcord.Interaction) -> None:
        assert interaction.guild is not None
        try:
            await interaction.guild.fetch_emojis()
        except nextcord.HTTPException as error:
            self.bot.http_errors.append(error)
        await interaction.response.send_message("tried")


class SampleBot(commands.Bot):
    """A plain ``commands.Bot`` with :class:`SampleCog`, recording what went wrong."""

    def __init__(self, *, guild_command_guild: int | None = None, **options: Any) -> None:
        options.setdefault("intents", nextcord.Intents.default())
        options.setdefault("guild_ready_timeout", 0.05)
        super().__init__(**options)
        self.http_errors: list[nextcord.HTTPException] = []
        self.command_errors: list[BaseException] = []
        self.gate = asyncio.Event()
        self.slow_seconds = 0.5
        self.stall_seconds = 0.6
        self.add_cog(SampleCog(self))
        if guild_command_guild is not None:

            @self.slash_command(
                name="local", description="Only in one guild", guild_ids=[guild_command_guild]
            )
            async def local(interaction: nextcord.Interaction) -> None:
                await interaction.response.send_message("local ok")

    async def on_application_command_error(
        self, interaction: nextcord.Interaction, exception: BaseException
    ) -> None:
        self.command_errors.append(exception)
        if isinstance(exception, application_checks.ApplicationNotOwner):
            await interaction.response.send_message("not owner", ephemeral=True)


@dataclass
class Scene:
    """A guild with an owner (alice), a plain member (bob), a moderator (carol), an outsider."""

    guild: Guild
    general: Channel
    alice: User
    bob: User
    carol: User
    outsider: User
    moderator: Role
