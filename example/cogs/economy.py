"""Economy: every member has coins; ``/balance`` reads them and ``/pay`` moves them.

The app ``economy`` owns the table ``economy_members``. Its migrations live in
``example/cogs/economy/migrations/`` (a single-file cog gets a folder named after its app).
"""

from __future__ import annotations

import nextcord
import ormar
from nextcord.ext import commands

from nextcord_ormar import AppModel, OrmarApp

app = OrmarApp.create_app("economy")

#: What a member starts with.
STARTING_COINS = 100


class Member(AppModel):
    """A Discord user's account; ``id`` is the user's Discord id."""

    ormar_config = app.config()

    id: int = ormar.BigInteger(primary_key=True, autoincrement=False)
    name: str = ormar.String(max_length=100)
    coins: int = ormar.Integer(default=STARTING_COINS)


async def account(user: nextcord.abc.User) -> Member:
    """The member row for ``user``, created with the starting coins on first use."""
    member, _ = await Member.objects.get_or_create(
        id=user.id, _defaults={"name": user.display_name, "coins": STARTING_COINS}
    )
    return member


class Economy(commands.Cog):
    """Coins for everyone."""

    @nextcord.slash_command(description="How many coins someone has")
    async def balance(
        self,
        interaction: nextcord.Interaction,
        user: nextcord.Member | None = nextcord.SlashOption(
            description="Whose balance (default: yours)", required=False, default=None
        ),
    ) -> None:
        who = user or interaction.user
        assert who is not None
        member = await account(who)
        await interaction.response.send_message(f"{member.name} has {member.coins} coins.")

    @nextcord.slash_command(description="Give some of your coins to someone")
    async def pay(
        self,
        interaction: nextcord.Interaction,
        user: nextcord.Member = nextcord.SlashOption(description="Who gets the coins"),
        amount: int = nextcord.SlashOption(description="How many coins", min_value=1),
    ) -> None:
        assert interaction.user is not None
        payer, payee = await account(interaction.user), await account(user)
        if payer.id == payee.id:
            await interaction.response.send_message("You cannot pay yourself.", ephemeral=True)
            return
        if payer.coins < amount:
            await interaction.response.send_message(
                f"You only have {payer.coins} coins.", ephemeral=True
            )
            return
        async with Member.ormar_config.database.transaction():
            await payer.update(coins=payer.coins - amount)
            await payee.update(coins=payee.coins + amount)
        await interaction.response.send_message(
            f"{payer.name} paid {payee.name} {amount} coins. "
            f"{payer.name}: {payer.coins}, {payee.name}: {payee.coins}."
        )


def setup(bot: commands.Bot) -> None:
    bot.add_cog(Economy())
