"""Moderation: ``/warn`` records a warning and fines the member; ``/warnings`` lists them.

The app ``moderation`` owns ``moderation_warns``, whose ``member`` column is a foreign
key to the economy cog's ``economy_members``: a cross-cog relation. The registry knows
that ``moderation`` depends on ``economy``, so ``economy`` is always migrated first.
"""

from __future__ import annotations

import nextcord
import ormar
from nextcord.ext import commands

from example.cogs.economy import Member, account
from nextcord_ormar import AppModel, OrmarApp

app = OrmarApp.create_app("moderation")

#: Coins a warning costs the warned member.
FINE = 10


class Warn(AppModel):
    """One warning given to a member by a moderator."""

    ormar_config = app.config()

    id: int = ormar.Integer(primary_key=True)
    member: Member = ormar.ForeignKey(Member, related_name="warnings", nullable=False)
    moderator_id: int = ormar.BigInteger()
    reason: str = ormar.String(max_length=200)


def describe(warn: Warn) -> str:
    """One line of ``/warnings``."""
    return f"#{warn.id} {warn.reason} (by <@{warn.moderator_id}>)"


class Moderation(commands.Cog):
    """Warnings that cost coins."""

    @nextcord.slash_command(
        description="Warn a member (costs them coins)",
        default_member_permissions=nextcord.Permissions(moderate_members=True),
    )
    async def warn(
        self,
        interaction: nextcord.Interaction,
        user: nextcord.Member = nextcord.SlashOption(description="Who to warn"),
        reason: str = nextcord.SlashOption(description="Why", max_length=200),
    ) -> None:
        assert interaction.user is not None
        member = await account(user)
        fine = min(FINE, member.coins)
        async with Warn.ormar_config.database.transaction():
            warn = await Warn.objects.create(
                member=member, moderator_id=interaction.user.id, reason=reason
            )
            await member.update(coins=member.coins - fine)
        count = await Warn.objects.filter(member=member).count()
        await interaction.response.send_message(
            f"Warned {member.name}: {reason} (warning #{warn.id}, {count} in total). "
            f"Fined {fine} coins; {member.name} has {member.coins} coins left."
        )

    @nextcord.slash_command(description="A member's warnings")
    async def warnings(
        self,
        interaction: nextcord.Interaction,
        user: nextcord.Member = nextcord.SlashOption(description="Whose warnings"),
    ) -> None:
        member = await account(user)
        warns = await Warn.objects.filter(member=member).order_by("id").all()
        if not warns:
            await interaction.response.send_message(f"{member.name} has no warnings.")
            return
        lines = [f"{member.name} has {len(warns)} warning(s):"]
        lines += [describe(warn) for warn in warns]
        await interaction.response.send_message("\n".join(lines))


def setup(bot: commands.Bot) -> None:
    bot.add_cog(Moderation())
