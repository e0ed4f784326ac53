"""The longest app names through the real ``nxalembic``: ``migrate`` writes migrations whose
identifiers fit every database, ``upgrade`` applies them, ``check`` finds nothing left."""

from __future__ import annotations

from tests import long_names
from tests.cli.project import BotProject
from tests.long_names import CASES, DIRECTORY


def test_migrate_upgrade_check_with_40_character_app_names(project: BotProject) -> None:
    long_names.write_cogs(project.write)
    project.write_bot(f"cogs.{DIRECTORY}", f"cogs.{CASES}")

    made = project.ok("migrate")
    assert f"{DIRECTORY}: wrote migration " in made.out, made
    assert f"{CASES}: wrote migration " in made.out, made
    project.ok("upgrade")

    assert project.ok("check").out.splitlines() == [
        f"{DIRECTORY}: up to date",
        f"{CASES}: up to date",
    ]
    for app in (DIRECTORY, CASES):
        assert project.model_diff(app) == [], app
    with project.imported():
        from nextcord_ormar import registry

        tables = [table for app in registry.ordered() for table in app.tables]
        assert long_names.too_long(tables) == []
        expected = {table.name for table in tables}
    assert expected <= project.tables()
    # a second migrate finds nothing to write: the names in the database are the models' names
    again = project.ok("migrate")
    assert "wrote migration" not in again.out, again
