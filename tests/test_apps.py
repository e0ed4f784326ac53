"""Apps and their models: naming, ownership, validation, registry order, migrations folders."""

from collections.abc import Iterator
from pathlib import Path

import ormar
import pytest

from nextcord_ormar import (
    AppConflictError,
    AppModel,
    AppNameError,
    OrmarApp,
    UnknownAppError,
    metadata,
    registry,
)
from nextcord_ormar.apps import MAX_IDENTIFIER_LENGTH, default_migrations_path
from tests.conftest import CogProject


def test_default_table_name_carries_the_app_prefix() -> None:
    app = OrmarApp.create_app("economy")

    class Wallet(AppModel):
        ormar_config = app.config()
        id: int = ormar.BigInteger(primary_key=True, autoincrement=False)

    assert Wallet.ormar_config.tablename == "economy_wallets"
    assert "economy_wallets" in metadata.tables
    assert app.table_names == {"economy_wallets"}
    assert app.models == [Wallet]


def test_explicit_tablename_wins_and_options_pass_through() -> None:
    app = OrmarApp.create_app("shop")

    class Item(AppModel):
        ormar_config = app.config(tablename="legacy_items", order_by=["-price"])
        id: int = ormar.Integer(primary_key=True)
        price: int = ormar.Integer(default=0)

    assert Item.ormar_config.tablename == "legacy_items"
    assert Item.ormar_config.orders_by == ["-price"]
    assert app.table_names == {"legacy_items"}


def test_plain_ormar_model_with_app_config_belongs_to_the_app() -> None:
    app = OrmarApp.create_app("levels")

    class Level(ormar.Model):
        ormar_config = app.config()
        id: int = ormar.Integer(primary_key=True)

    assert Level.ormar_config.tablename == "levels_levels"
    assert app.models == [Level]


def test_long_names_are_shortened_within_every_databases_limit() -> None:
    app = OrmarApp.create_app("a" * 40)

    class AVeryLongModelNameThatKeepsGoingAndGoingForever(AppModel):
        ormar_config = app.config()
        id: int = ormar.Integer(primary_key=True)

    name = AVeryLongModelNameThatKeepsGoingAndGoingForever.ormar_config.tablename
    assert len(name) <= MAX_IDENTIFIER_LENGTH
    assert name.startswith("a" * 40 + "_averylong")
    assert len(app.version_table) <= MAX_IDENTIFIER_LENGTH


def test_explicit_table_name_over_the_limit_is_a_clear_error() -> None:
    app = OrmarApp.create_app("limits")
    with pytest.raises(AppNameError, match="longer than 63"):

        class Too(AppModel):
            ormar_config = app.config(tablename="t" * 64)
            id: int = ormar.Integer(primary_key=True)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "non-empty"),
        ("Economy", "lowercase"),
        ("my-cog", "'my_cog'"),
        ("1cog", "starting with a letter"),
        ("x" * 41, "limit is 40"),
        ("drop table;", "cannot become a table prefix"),
        ("economy\n", "cannot become a table prefix"),
    ],
)
def test_invalid_app_names_are_rejected_with_a_reason(name: str, message: str) -> None:
    with pytest.raises(AppNameError, match=message):
        OrmarApp.create_app(name)


def test_same_app_name_from_another_module_is_an_error() -> None:
    OrmarApp.create_app("economy", module="cogs.economy")
    with pytest.raises(AppConflictError, match=r"already belongs to module 'cogs\.economy'"):
        OrmarApp.create_app("economy", module="cogs.other")


def test_app_config_refuses_its_own_metadata_or_database() -> None:
    app = OrmarApp.create_app("bank")
    with pytest.raises(TypeError, match="set by the app"):
        app.config(metadata=metadata)


def test_many_to_many_through_table_belongs_to_the_declaring_app() -> None:
    tags = OrmarApp.create_app("tags")
    posts = OrmarApp.create_app("posts", module="tests.posts")

    class Tag(AppModel):
        ormar_config = tags.config()
        id: int = ormar.Integer(primary_key=True)

    class Post(AppModel):
        ormar_config = posts.config()
        id: int = ormar.Integer(primary_key=True)
        tags: list[Tag] | None = ormar.ManyToMany(Tag)

    assert posts.table_names == {"posts_posts", "posts_posts_tags"}
    assert tags.table_names == {"tags_tags"}
    assert posts.dependencies == {"tags"}
    assert tags.dependencies == set()


def test_dependency_order_puts_referenced_apps_first() -> None:
    users = OrmarApp.create_app("users", module="m.users")
    audit = OrmarApp.create_app("audit", module="m.audit")
    bans = OrmarApp.create_app("bans", module="m.bans")

    class User(AppModel):
        ormar_config = users.config()
        id: int = ormar.Integer(primary_key=True)

    class Ban(AppModel):
        ormar_config = bans.config()
        id: int = ormar.Integer(primary_key=True)
        user: User | None = ormar.ForeignKey(User)

    class Log(AppModel):
        ormar_config = audit.config()
        id: int = ormar.Integer(primary_key=True)
        ban: Ban | None = ormar.ForeignKey(Ban)

    assert [a.name for a in registry.ordered()] == ["users", "bans", "audit"]
    assert [a.name for a in registry.ordered(["audit", "users"])] == ["users", "audit"]
    assert audit.dependencies == {"bans"}


def test_the_first_look_at_many_apps_walks_the_model_classes_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After a start or a reload every app's contents are unknown; the dependency order asks
    each app in turn. One walk of ormar's classes answers all of them (a process that
    reloads cogs keeps the old classes until a full collection, so a walk per app grew with
    both the apps and the reloads)."""
    from nextcord_ormar.apps import models

    apps = [OrmarApp.create_app(f"walk{i}", module=f"m.walk{i}") for i in range(6)]
    made: dict[str, list[type[ormar.Model]]] = {}
    for index, app in enumerate(apps):
        previous = made[apps[index - 1].name][0] if index else None
        namespace: dict[str, object] = {
            "ormar_config": app.config(),
            "id": ormar.Integer(primary_key=True),
            "__annotations__": {"id": int},
        }
        if previous is not None:
            namespace["up"] = ormar.ForeignKey(previous)
            namespace["__annotations__"]["up"] = previous | None  # type: ignore[index]
        first = type(f"First{index}", (AppModel,), namespace)
        second = type(
            f"Second{index}",
            (AppModel,),
            {
                "ormar_config": app.config(),
                "id": ormar.Integer(primary_key=True),
                "__annotations__": {"id": int},
            },
        )
        made[app.name] = [first, second]
    walks = 0
    real = models.all_models

    def counted() -> Iterator[type[ormar.Model]]:
        nonlocal walks
        walks += 1
        return real()

    monkeypatch.setattr(models, "all_models", counted)
    for app in apps:
        app._invalidate()  # as a reload leaves them
    ordered = registry.ordered([app.name for app in reversed(apps)])
    assert [app.name for app in ordered] == [app.name for app in apps]
    assert walks == 1
    for app in apps:
        assert app.models == made[app.name]  # each app's own classes, in definition order
    assert apps[3].dependencies == {"walk2"}
    assert walks == 1


def test_unknown_app_lists_the_known_ones() -> None:
    OrmarApp.create_app("economy")
    with pytest.raises(UnknownAppError, match=r"unknown app 'nope' \(known apps: economy\)"):
        registry.get("nope")


def test_migrations_folder_rules(tmp_path: Path) -> None:
    cogs = tmp_path / "cogs"
    (cogs / "economy").mkdir(parents=True)
    (cogs / "__init__.py").write_text("")
    (cogs / "economy" / "__init__.py").write_text("def setup(bot):\n    pass\n")
    (cogs / "economy" / "models.py").write_text("")
    (cogs / "moderation.py").write_text("")

    # a package cog, app in its __init__ or in a module of the package
    assert default_migrations_path("economy", str(cogs / "economy" / "__init__.py")) == (
        cogs / "economy" / "migrations"
    )
    assert default_migrations_path("economy", str(cogs / "economy" / "models.py")) == (
        cogs / "economy" / "migrations"
    )
    # a single-file cog, even inside a package folder that holds several cogs
    assert default_migrations_path("moderation", str(cogs / "moderation.py")) == (
        cogs / "moderation" / "migrations"
    )
    # a module beside the bot's main script
    assert default_migrations_path("core", str(tmp_path / "bot.py")) == (
        tmp_path / "core" / "migrations"
    )


def test_migrations_folder_can_be_overridden(tmp_path: Path) -> None:
    app = OrmarApp.create_app("economy", migrations=tmp_path / "db" / "economy")
    assert app.migrations_path == (tmp_path / "db" / "economy").resolve()


def test_plain_sqlalchemy_tables_can_join_an_app() -> None:
    import sqlalchemy

    app = OrmarApp.create_app("raw")
    table = sqlalchemy.Table("raw_events", metadata, sqlalchemy.Column("id", sqlalchemy.Integer))
    app.add_table(table)
    assert app.table_names == {"raw_events"}
    assert registry.table_owner("raw_events") is app
    other = sqlalchemy.Table("elsewhere", sqlalchemy.MetaData())
    with pytest.raises(ValueError, match=r"nextcord_ormar\.apps\.metadata"):
        app.add_table(other)


def test_lookups_follow_models_defined_after_a_first_look() -> None:
    bank = OrmarApp.create_app("bank")

    class Account(AppModel):
        ormar_config = bank.config()
        id: int = ormar.Integer(primary_key=True)

    assert bank.table_names == {"bank_accounts"}
    assert registry.table_owner("bank_accounts") is bank
    assert registry.table_owner("bank_loans") is None

    class Loan(AppModel):
        ormar_config = bank.config()
        id: int = ormar.Integer(primary_key=True)
        account: Account | None = ormar.ForeignKey(Account)

    assert bank.models == [Account, Loan]
    assert bank.table_names == {"bank_accounts", "bank_loans"}
    assert registry.table_owner("bank_loans") is bank

    audit = OrmarApp.create_app("audit", module="tests.audit")
    assert registry.table_owner("audit_logs") is None

    class Log(AppModel):
        ormar_config = audit.config()
        id: int = ormar.Integer(primary_key=True)
        loan: Loan | None = ormar.ForeignKey(Loan)

    assert registry.table_owner("audit_logs") is audit
    assert audit.dependencies == {"bank"}
    assert [a.name for a in registry.with_dependencies(["audit"])] == ["bank", "audit"]
    assert [a.name for a in registry.with_dependencies(["bank"])] == ["bank"]


def test_lookups_are_forgotten_when_an_app_is_created_again_or_removed() -> None:
    app = OrmarApp.create_app("shop", module="tests.shop")

    class Item(AppModel):
        ormar_config = app.config()
        id: int = ormar.Integer(primary_key=True)

    assert app.models == [Item]
    assert registry.table_owner("shop_items") is app

    again = OrmarApp.create_app("shop", module="tests.shop")  # as a cog reload does
    assert again is app
    assert app.models == []
    assert app.tables == []
    assert registry.table_owner("shop_items") is None

    class Item2(AppModel):
        ormar_config = app.config(tablename="shop_goods")
        id: int = ormar.Integer(primary_key=True)

    assert app.table_names == {"shop_goods"}
    registry.remove("shop")
    assert registry.table_owner("shop_goods") is None
    assert "shop_goods" not in metadata.tables


def test_a_forward_reference_is_looked_up_again_once_resolved(cog_project: CogProject) -> None:
    cog_project.write(
        "forum.py",
        """
        from typing import ForwardRef
        import ormar
        from nextcord_ormar import AppModel, OrmarApp

        app = OrmarApp.create_app("forum")

        class Thread(AppModel):
            ormar_config = app.config()
            id: int = ormar.Integer(primary_key=True)
            posts = ormar.ManyToMany(ForwardRef("Post"))

        class Post(AppModel):
            ormar_config = app.config()
            id: int = ormar.Integer(primary_key=True)
        """,
    )
    import forum  # type: ignore[import-not-found]

    before = forum.app.table_names
    assert {"forum_threads", "forum_posts"} <= before
    forum.Thread.update_forward_refs()
    through = forum.app.table_names - before
    assert len(through) == 1
    assert registry.table_owner(next(iter(through))) is forum.app
