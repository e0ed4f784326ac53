"""make touches only the app's own tables: never a table nobody owns, never another app's."""

from __future__ import annotations

from tests.cli.project import BotProject

MEMBERS = """
class Member(AppModel):
    ormar_config = app.config()
    id: int = ormar.Integer(primary_key=True, autoincrement=False)
    name: str = ormar.String(max_length=50)
"""

ITEMS = """
class Item(AppModel):
    ormar_config = app.config()
    id: int = ormar.Integer(primary_key=True, autoincrement=False)
    title: str = ormar.String(max_length=40)
"""


def test_unowned_tables_and_unloaded_apps_tables_are_never_touched(project: BotProject) -> None:
    project.execute(
        "CREATE TABLE legacy_notes (id INTEGER PRIMARY KEY, body VARCHAR(20))",
        "CREATE INDEX ix_legacy_notes_body ON legacy_notes (body)",
        "INSERT INTO legacy_notes (id, body) VALUES (1, 'keep me')",
    )
    project.write_cog("economy", MEMBERS)
    project.write_cog("shop", ITEMS)
    project.write_bot("cogs.economy", "cogs.shop")

    run = project.ok("migrate")
    assert "legacy" not in run.output
    assert "legacy" not in project.migration_text("economy", "0001")
    assert "shop_items" not in project.migration_text("economy", "0001")
    assert "economy_members" not in project.migration_text("shop", "0001")
    project.ok("upgrade")
    project.execute("INSERT INTO shop_items (id, title) VALUES (1, 'hat')")

    # The shop cog is no longer loaded: its table is now one no app owns.
    project.write_bot("cogs.economy")
    project.write_cog(
        "economy", MEMBERS + "    nick: str = ormar.String(max_length=20, nullable=True)\n"
    )

    run = project.ok("migrate")
    assert run.out.splitlines() == [
        "economy: wrote migration 0002 cogs/economy/migrations/0002_add_members_nick.py "
        "(add members nick)",
        "  - add column economy_members.nick (VARCHAR(20))",
    ]
    script = project.migration_text("economy", "0002")
    for other in ("legacy", "shop"):
        assert other not in script
        assert other not in run.output
    project.ok("upgrade")

    run = project.ok("migrate")
    assert run.out.splitlines() == ["economy: no changes, no migration written"]
    run = project.ok("check")
    assert run.out.splitlines() == ["economy: up to date"]

    assert {"legacy_notes", "shop_items", "alembic_version_shop"} <= project.tables()
    assert project.rows("SELECT id, body FROM legacy_notes") == [(1, "keep me")]
    assert project.rows("SELECT id, title FROM shop_items") == [(1, "hat")]
    assert project.version("shop") == "0001"
    assert project.migrations("shop") == ["0001_create_items.py"]
