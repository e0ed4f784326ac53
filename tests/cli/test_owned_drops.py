"""A model removed from a loaded cog: the app's next migration drops the table its own history
created, and nothing else (other apps', unloaded cogs' and unowned tables stay)."""

from __future__ import annotations

from tests.cli.project import BotProject
from tests.cli.test_replay import allow_scratch_databases

MEMBER = """
class Member(AppModel):
    ormar_config = app.config()
    id: int = ormar.Integer(primary_key=True)
    name: str = ormar.String(max_length=50)
"""

WALLET = """

class Wallet(AppModel):
    ormar_config = app.config()
    id: int = ormar.Integer(primary_key=True)
    balance: int = ormar.Integer(default=0)
    tags = ormar.ManyToMany(Member, related_name="wallets")
"""

SCORE = """
class Score(AppModel):
    ormar_config = app.config()
    id: int = ormar.Integer(primary_key=True)
    points: int = ormar.Integer(default=0)
"""

ITEM = """
class Item(AppModel):
    ormar_config = app.config()
    id: int = ormar.Integer(primary_key=True)
    title: str = ormar.String(max_length=40)
"""

UNOWNED = {"notes", "economy_legacy"}


def test_a_removed_model_drops_only_its_own_table(project: BotProject) -> None:
    allow_scratch_databases(project)
    project.write_cog("economy", MEMBER + WALLET)
    project.write_cog("shop", ITEM)
    project.write_cog("games", SCORE)
    project.write_bot("cogs.economy", "cogs.shop", "cogs.games")
    project.ok("migrate")
    project.ok("upgrade")
    project.execute(
        "CREATE TABLE notes (id INTEGER PRIMARY KEY)",
        "CREATE TABLE economy_legacy (id INTEGER PRIMARY KEY)",  # the app's prefix, not its table
        "INSERT INTO economy_members (id, name) VALUES (1, 'ada')",
        "INSERT INTO economy_wallets (id, balance) VALUES (1, 5)",
        "INSERT INTO shop_items (id, title) VALUES (1, 'hat')",
        "INSERT INTO games_scores (id, points) VALUES (1, 3)",
    )
    owned = {t for t in project.tables() if t.startswith("economy_wallets")}
    assert len(owned) == 2, owned  # the wallets and the many-to-many table between them

    # The wallet model is removed from the loaded economy cog; the games cog is unloaded.
    project.write_cog("economy", MEMBER)
    project.write_bot("cogs.economy", "cogs.shop")

    check = project.nx("check", "--replay")
    assert check.code == 1, check
    assert "drop table economy_wallets" in check.out

    made = project.ok("migrate")
    lines = made.out.splitlines()
    assert lines[0].startswith("economy: wrote migration 0002 "), made
    for table in owned:
        assert f"  - drop table {table}" in lines, made
        assert f"  warning: drops table {table} and all its rows" in lines, made
    assert "shop: no changes, no migration written" in lines, made
    for other in ("notes", "legacy", "games", "shop_items", "economy_members"):
        assert other not in made.out, made

    refused = project.nx("upgrade")  # dropping tables needs a yes
    assert refused.code == 1, refused
    assert owned <= project.tables()
    project.ok("upgrade", "--yes")
    tables = project.tables()
    assert not owned & tables
    assert {"economy_members", "shop_items", "games_scores", *UNOWNED} <= tables
    assert project.rows("SELECT id, name FROM economy_members") == [(1, "ada")]
    assert project.rows("SELECT points FROM games_scores") == [(3,)]
    assert project.ok("check").out.splitlines() == ["economy: up to date", "shop: up to date"]
    assert project.ok("check", "--replay").out.splitlines() == [
        "economy: up to date",
        "shop: up to date",
    ]

    project.ok("downgrade", "economy", "--yes")  # the drop is undone: the tables come back (empty)
    assert owned <= project.tables()
