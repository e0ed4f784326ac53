"""Hostile ``-m`` messages: safe file names inside the versions folder, nothing overwritten."""

from __future__ import annotations

from pathlib import Path

from tests.cli.project import BotProject

MEMBERS = """
class Member(AppModel):
    ormar_config = app.config()
    id: int = ormar.Integer(primary_key=True)
"""


def test_messages_never_escape_the_versions_folder(sqlite_project: BotProject) -> None:
    project = sqlite_project
    project.write_cog("economy", MEMBERS)
    project.write_bot("cogs.economy")
    before = {p for p in project.root.rglob("*") if p.is_file()}
    messages = ["../../escape", "/etc/passwd", "..", "a\\b/c", "💥 emoji \x1b[31m", "", "   "]
    for message in messages:
        project.ok("migrate", "--app", "economy", "--empty", "-m", message)
    names = project.migrations("economy")
    assert names == [
        "0001_escape.py",
        "0002_etc_passwd.py",
        "0003_migration.py",
        "0004_a_b_c.py",
        "0005_emoji_31m.py",
        "0006_empty.py",
        "0007_empty.py",
    ]
    added = {p for p in project.root.rglob("*") if p.is_file()} - before
    folder = (project.root / "cogs" / "economy" / "migrations").resolve()
    assert {Path(p).resolve().parent for p in added if p.suffix == ".py"} == {folder}
    for name in names:  # every script is still valid Python
        compile((folder / name).read_text(), name, "exec")
    run = project.nx("migrate", "--app", "economy", "-m", "x" * 10_000)
    assert run.code == 2
    assert "10000 characters long" in run.err
    assert project.migrations("economy") == names  # nothing written, nothing overwritten
