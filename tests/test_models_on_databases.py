"""Models of several apps on SQLite, PostgreSQL and MariaDB: CRUD, cross-app relations, reload."""

import ormar
import sqlalchemy

from nextcord_ormar import AppModel, Bot, OrmarApp, database, metadata, registry
from tests.conftest import CogProject
from tests.sample_cogs import change_wallet, write_cogs


async def create_all() -> None:
    tables = [t for app in registry.ordered() for t in app.tables]
    async with database.engine.begin() as conn:
        await conn.run_sync(lambda c: metadata.create_all(c, tables=tables))


async def test_cross_app_foreign_key_and_many_to_many_crud(
    db_url: str, cog_project: CogProject
) -> None:
    write_cogs(cog_project)
    bot = Bot(database_url=db_url)
    bot.load_extension("cogs.economy")
    bot.load_extension("cogs.moderation")
    await bot.connect_database()
    try:
        await create_all()
        from cogs.economy import Wallet
        from cogs.moderation import Tag, Warn

        wallet = await Wallet.objects.create(id=123456789012345678, balance=10)
        spam = await Tag.objects.create(name="spam")
        warn = await Warn.objects.create(reason="flooding", wallet=wallet)
        await warn.tags.add(spam)
        await warn.wallets.add(wallet)

        loaded = await Warn.objects.select_related(["wallet", "tags", "wallets"]).get()
        assert loaded.wallet.balance == 10
        assert [t.name for t in loaded.tags] == ["spam"]
        assert [w.id for w in loaded.wallets] == [123456789012345678]
        back = await Wallet.objects.select_related("warns").get(id=123456789012345678)
        assert [w.reason for w in back.warns] == ["flooding"]

        assert registry.get("moderation").dependencies == {"economy"}
        assert [a.name for a in registry.ordered()] == ["economy", "moderation"]
        assert set(bot.cog_apps()) == {"Economy", "Moderation"}
        # The through tables are moderation's, named with its prefix, and really exist.
        async with database.engine.connect() as conn:
            names = await conn.run_sync(lambda c: sqlalchemy.inspect(c).get_table_names())
        assert {"moderation_warns_tags", "moderation_warns_wallets"} <= set(names)
    finally:
        await bot.close()
    assert not database.is_connected


async def test_reloading_a_cog_replaces_its_models(db_url: str, cog_project: CogProject) -> None:
    write_cogs(cog_project)
    bot = Bot(database_url=db_url)
    bot.load_extension("cogs.economy")
    bot.load_extension("cogs.moderation")
    await bot.connect_database()
    try:
        await create_all()
        change_wallet(cog_project, "bank: int = ormar.Integer(default=5, server_default='5')")
        bot.reload_extension("cogs.economy")
        bot.reload_extension("cogs.moderation")
        bot.reload_extension("cogs.moderation")  # twice: no "already registered" anywhere

        economy = registry.get("economy")
        assert [m.__name__ for m in economy.models] == ["Wallet"]
        assert "bank" in economy.tables[0].c
        assert list(metadata.tables).count("economy_wallets") == 1

        async with database.engine.begin() as conn:
            await conn.execute(
                sqlalchemy.text("ALTER TABLE economy_wallets ADD COLUMN bank INTEGER DEFAULT 5")
            )
        from cogs.economy import Wallet
        from cogs.moderation import Warn

        wallet = await Wallet.objects.create(id=1, balance=2)
        assert (await Wallet.objects.get(id=1)).bank == 5
        await Warn.objects.create(reason="x", wallet=wallet)
        got = await Warn.objects.select_related("wallet").get()
        assert got.wallet.bank == 5
    finally:
        await bot.close()


async def test_models_declared_before_and_after_the_bot(db_url: str) -> None:
    early = OrmarApp.create_app("early", module="tests.early")

    class Before(AppModel):
        ormar_config = early.config()
        id: int = ormar.Integer(primary_key=True)
        note: str = ormar.String(max_length=20)

    bot = Bot(database_url=db_url)
    late = OrmarApp.create_app("late", module="tests.late")

    class After(AppModel):
        ormar_config = late.config()
        id: int = ormar.Integer(primary_key=True)
        before: Before | None = ormar.ForeignKey(Before)

    await bot.connect_database()
    try:
        await create_all()
        first = await Before.objects.create(note="early bird")
        await After.objects.create(before=first)
        assert (await After.objects.select_related("before").get()).before.note == "early bird"
        assert Before.ormar_config.database is After.ormar_config.database is bot.database
    finally:
        await bot.close()
