"""``MigrationsCog``: owner-only ``/migrate`` slash commands in the running bot.

The cog parses options, checks who asks, acknowledges at once, calls the migration engine
and renders its results (see :mod:`.render`). It holds no migration logic of its own.
"""

from __future__ import annotations

import logging
from typing import Any

import nextcord
from nextcord.ext import application_checks, commands

from ..bot import DatabaseBotMixin
from ..errors import UnknownCogError
from ..migrations import MigrationEngine
from ..migrations.replay import make_from_history
from . import render
from .live import LiveApps
from .options import CogOptions
from .owners import OwnerRule, is_read_only
from .render import Rendered
from .serving import Desk, Turn, attachable, rechecked, route_error
from .views import Interaction

__all__ = ["CogOptions", "MigrationsCog", "UnknownCogError"]

log = logging.getLogger("nextcord_ormar.admin_cog")

# nextcord 3.x follows Discord's ``contexts``; nextcord 2.6 still has ``dm_permission``.
_GUILD_ONLY: dict[str, Any] = (
    {"contexts": [nextcord.InteractionContextType.guild]}
    if hasattr(nextcord, "InteractionContextType")
    else {"dm_permission": False}
)
_ADMINS_ONLY = nextcord.Permissions(administrator=True)


class MigrationsCog(commands.Cog, name="Migrations"):
    """Owner-only ``/migrate`` commands: make, show and apply the loaded cogs' migrations."""

    bot: commands.Bot
    options: CogOptions
    engine: MigrationEngine
    apps: LiveApps
    desk: Desk

    def __init__(self, bot: commands.Bot, **extras: Any) -> None:
        if not isinstance(bot, DatabaseBotMixin):
            raise TypeError("MigrationsCog needs a nextcord_ormar.Bot (or AutoShardedBot)")
        self.bot = bot
        self.options = CogOptions(**extras)
        self.engine = MigrationEngine.for_bot(bot)
        self.owners: OwnerRule = OwnerRule(bot, self.options.owner_refresh, self.options.owner_ids)
        self.apps = LiveApps(bot, self.engine.registry)
        self.desk = Desk(self.options, self.apps.labels, self._still_owner)
        command = type(self).migrate
        if self.options.guild_ids:
            command.guild_ids_to_rollout = set(self.options.guild_ids)
            command.use_default_guild_ids = False

    def cog_unload(self) -> None:
        """Close the connections the migration engine keeps between operations."""
        self.engine.close()

    # -- who may run it ------------------------------------------------------------------

    async def cog_application_command_check(  # type: ignore[override]
        self, interaction: Interaction
    ) -> bool:
        if interaction.guild is None:
            raise application_checks.ApplicationNoPrivateMessage()
        if not await self.owners.allows(interaction.user, fresh=not is_read_only(interaction)):
            raise application_checks.ApplicationNotOwner("only the bot's owner can use /migrate")
        return True

    async def _still_owner(self, interaction: Interaction) -> bool:
        """Asked again when Confirm is pressed, on fresh information: the question may have
        waited minutes, and the member may have left the team meanwhile."""
        return await self.owners.allows(interaction.user, fresh=True)

    async def cog_application_command_error(
        self, interaction: Interaction, error: Exception
    ) -> None:
        if isinstance(error, application_checks.ApplicationNoPrivateMessage):
            text = "/migrate can only be used in a server, not in direct messages."
        elif isinstance(error, nextcord.ApplicationCheckFailure):
            text = "Only the bot's owner can use /migrate. Nothing was run."
        else:
            log.exception("/migrate failed", exc_info=error)
            text = "Something went wrong running /migrate; the bot's log has the details."
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True)
        else:
            await interaction.response.send_message(text, ephemeral=True)

    # -- the loaded cogs -----------------------------------------------------------------

    async def complete_cog(self, interaction: Interaction, cog: str) -> None:
        """Autocomplete for every ``cog`` option: the loaded cogs that own models."""
        owner = await self.owners.allows(interaction.user, fresh=False)
        await interaction.response.send_autocomplete(self.apps.choices(cog) if owner else {})

    # -- /migrate ------------------------------------------------------------------------

    @nextcord.slash_command(
        name="migrate",
        description="Make, show and apply the database migrations of the bot's cogs",
        default_member_permissions=_ADMINS_ONLY,
        **_GUILD_ONLY,
    )
    async def migrate(self, interaction: Interaction) -> None:
        """The command group; Discord only ever invokes its subcommands."""

    @migrate.subcommand(name="make", description="Autogenerate a cog's next migration")
    async def make(
        self,
        interaction: Interaction,
        cog: str = nextcord.SlashOption(
            description="Cog (or app) whose models changed", autocomplete=True
        ),
        message: str | None = nextcord.SlashOption(
            description="What the migration does (default: derived from its changes)",
            required=False,
            default=None,
            max_length=500,
        ),
        empty: bool = nextcord.SlashOption(
            description="Write a blank migration to fill in by hand", required=False, default=False
        ),
        from_history: bool = nextcord.SlashOption(
            description="Compare with the migration history replayed into a scratch database, "
            "not with the live database",
            required=False,
            default=False,
        ),
    ) -> None:
        async def work(turn: Turn) -> Rendered:
            name, app = self.apps.find(cog)
            options: dict[str, Any] = {"message": message, "empty": empty}
            options["questioner"] = turn.buttons()
            if from_history:
                (result,) = await make_from_history(self.engine, [app], **options)
            else:
                result = await self.engine.make(app, **options)
            return render.make(result, name)

        await self.desk.serve(interaction, work, write="make")

    @migrate.subcommand(
        name="upgrade", description="Apply pending migrations (all loaded cogs by default)"
    )
    async def upgrade(
        self,
        interaction: Interaction,
        cog: str | None = nextcord.SlashOption(
            description="Only this cog (default: every loaded cog, in dependency order)",
            required=False,
            default=None,
            autocomplete=True,
        ),
        target: str | None = nextcord.SlashOption(
            description="Revision to upgrade to (default: head; needs a cog)",
            required=False,
            default=None,
        ),
    ) -> None:
        async def work(turn: Turn) -> Rendered:
            apps = self.apps.chosen(cog)
            rendered = await turn.move(
                "Upgrading…",
                lambda progress, buttons: self.engine.upgrade(
                    apps, target or "head", on_progress=progress.on_event, questioner=buttons
                ),
            )
            return await rechecked(self.bot, rendered, everything=False)

        await self.desk.serve(interaction, work, write="upgrade")

    @migrate.subcommand(name="downgrade", description="Undo a cog's migrations, after you confirm")
    async def downgrade(
        self,
        interaction: Interaction,
        cog: str = nextcord.SlashOption(description="The cog to downgrade", autocomplete=True),
        target: str | None = nextcord.SlashOption(
            description="Revision to go back to (default: one step back; 'base' undoes all)",
            required=False,
            default=None,
        ),
    ) -> None:
        async def work(turn: Turn) -> Rendered:
            app = self.apps.find(cog)[1]
            rendered = await turn.move(
                "Downgrading…",
                lambda progress, buttons: self.engine.downgrade(
                    app, target or "-1", on_progress=progress.on_event, questioner=buttons
                ),
            )
            return await rechecked(self.bot, rendered)

        await self.desk.serve(interaction, work, write="downgrade")

    @migrate.subcommand(name="show", description="Where each cog's migrations stand")
    async def show(
        self,
        interaction: Interaction,
        cog: str | None = nextcord.SlashOption(
            description="Only this cog (default: every loaded cog)",
            required=False,
            default=None,
            autocomplete=True,
        ),
    ) -> None:
        async def work(turn: Turn) -> Rendered:
            return render.status(await self.engine.status(self.apps.chosen(cog)), turn.labels)

        await self.desk.serve(interaction, work)

    @migrate.subcommand(name="history", description="A cog's migrations, applied or not")
    async def history(
        self,
        interaction: Interaction,
        cog: str = nextcord.SlashOption(description="The cog", autocomplete=True),
    ) -> None:
        async def work(turn: Turn) -> Rendered:
            name, app = self.apps.find(cog)
            return render.history(await self.engine.history(app), name, app.name)

        await self.desk.serve(interaction, work)

    @migrate.subcommand(name="sql", description="The SQL an upgrade would run (nothing is applied)")
    async def sql(
        self,
        interaction: Interaction,
        cog: str = nextcord.SlashOption(description="The cog", autocomplete=True),
        target: str | None = nextcord.SlashOption(
            description="Revision to upgrade to (default: head)", required=False, default=None
        ),
    ) -> None:
        async def work(turn: Turn) -> Rendered:
            name, app = self.apps.find(cog)
            return render.sql(await self.engine.sql(app, target or "head"), name)

        await self.desk.serve(interaction, work)

    @migrate.subcommand(name="check", description="Cogs whose models differ from the database")
    async def check(self, interaction: Interaction) -> None:
        async def work(turn: Turn) -> Rendered:
            return render.check(await self.engine.check(self.apps.loaded()), turn.labels)

        await self.desk.serve(interaction, work)

    @migrate.subcommand(name="stamp", description="Mark a revision as applied without running it")
    async def stamp(
        self,
        interaction: Interaction,
        cog: str = nextcord.SlashOption(description="The cog", autocomplete=True),
        revision: str = nextcord.SlashOption(description="Revision id, head or base"),
    ) -> None:
        async def work(turn: Turn) -> Rendered:
            name, app = self.apps.find(cog)
            stamped = await self.engine.stamp(app, revision)
            return await rechecked(self.bot, render.stamped(stamped, name))

        await self.desk.serve(interaction, work, write="stamp")

    @migrate.subcommand(
        name="adopt", description="Carry over a cog's nextcord-ormar 0.3 history, after you confirm"
    )
    async def adopt(
        self,
        interaction: Interaction,
        cog: str = nextcord.SlashOption(description="The cog to adopt", autocomplete=True),
        keep_names: bool = nextcord.SlashOption(
            description="Keep the 0.3 table names (nothing renamed; you set tablename=)",
            required=False,
            default=False,
        ),
    ) -> None:
        async def work(turn: Turn) -> Rendered:
            app = self.apps.find(cog)[1]
            plans = await self.engine.adopt([app], keep_names=keep_names, questioner=turn.buttons())
            return await rechecked(self.bot, render.adopted(plans, turn.labels))

        await self.desk.serve(interaction, work, write="adopt")

    @migrate.subcommand(name="backup", description="Back up the database now and attach it")
    async def backup(
        self,
        interaction: Interaction,
        cog: str | None = nextcord.SlashOption(
            description="Only this cog's tables (SQLite: the whole file, named after the cog)",
            required=False,
            default=None,
            autocomplete=True,
        ),
    ) -> None:
        async def work(turn: Turn) -> Rendered:
            apps = [self.apps.find(cog)[1]] if cog else None
            made = await self.engine.backup(apps)
            return render.backup_made(made, await attachable(made.path))

        await self.desk.serve(interaction, work, write="backup")

    for _command in (make, upgrade, downgrade, show, history, sql, stamp, adopt, backup):
        _command.on_autocomplete("cog")(complete_cog)

    if not hasattr(nextcord.ClientCog, "cog_application_command_error"):
        for _command in (make, upgrade, downgrade, show, history, sql, check, stamp, adopt, backup):
            _command.error(route_error)
    del _command
