"""Hardening points of issue 14 seen through the real ``nxalembic``: odd revision names,
odd messages, ``file:`` URIs, duplicate ids, and what a MariaDB failure report lists."""

from __future__ import annotations

import tempfile
from pathlib import Path

from tests.cli.project import BotProject

MEMBERS = """
class Member(AppModel):
    ormar_config = app.config()
    id: int = ormar.Integer(primary_key=True)
"""


def _economy(project: BotProject) -> None:
    project.write_cog("economy", MEMBERS)
    project.write_bot("cogs.economy")


def test_unicode_digits_in_a_relative_revision_are_an_unknown_revision(
    sqlite_project: BotProject,
) -> None:
    project = sqlite_project
    _economy(project)
    project.ok("migrate", "-m", "start")
    project.ok("upgrade")
    for name in ("-²", "+١", "-١"):
        if name.startswith("-"):  # after "--": argparse takes "-²" for an option otherwise
            run = project.nx("downgrade", "--yes", "economy", "--", name)
        else:
            run = project.nx("upgrade", "--yes", "--app", "economy", name)
        assert run.code == 2, str(run)
        assert "Traceback" not in run.output, str(run)
        assert "has no revision" in run.err, str(run)
        assert len(run.err.strip().splitlines()) == 1, str(run)
    assert project.version("economy") == "0001"


def test_a_lone_surrogate_in_a_message_writes_the_script_where_it_belongs(
    sqlite_project: BotProject,
) -> None:
    project = sqlite_project
    _economy(project)
    temp = Path(tempfile.gettempdir())
    before = set(temp.iterdir())
    run = project.ok("migrate", "-m", "start \udcff here")
    after = set(temp.iterdir())
    assert [p for p in after - before if p.suffix == ".py"] == [], str(run)
    (name,) = project.migrations("economy")
    assert name.startswith("0001_start"), name
    text = project.migration_text("economy", "0001")
    assert "\udcff" not in text
    assert "start" in text
