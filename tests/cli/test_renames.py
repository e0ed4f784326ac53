"""Renamed fields and models: asked about (a terminal prompt) or answered ahead (--rename,
--rename-table), the migration renames, and the rows survive the upgrade; --no-input keeps
the drop and the add with a warning."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys

from tests.cli.project import BotProject


def economy_source(renamed: bool) -> str:
    nick = "nickname" if renamed else "nick"
    wallet = "Purse" if renamed else "Wallet"
    return (
        "class Member(AppModel):\n"
        "    ormar_config = app.config()\n"
        "    id: int = ormar.Integer(primary_key=True, autoincrement=False)\n"
        "    name: str = ormar.String(max_length=50)\n"
        f"    {nick}: str = ormar.String(max_length=30, nullable=True)\n"
        "\n\n"
        f"class {wallet}(AppModel):\n"
        "    ormar_config = app.config()\n"
        "    id: int = ormar.Integer(primary_key=True, autoincrement=False)\n"
        "    balance: int = ormar.Integer(default=0)\n"
    )


def with_rows(project: BotProject) -> None:
    project.write_cog("economy", economy_source(False))
    project.write_bot("cogs.economy")
    project.ok("migrate")
    project.ok("upgrade")
    project.execute(
        "INSERT INTO economy_members (id, name, nick) VALUES (1, 'ada', 'a'), (2, 'bob', NULL)",
        "INSERT INTO economy_wallets (id, balance) VALUES (1, 10), (2, 20)",
    )
    project.write_cog("economy", economy_source(True))


def assert_renamed_with_rows(project: BotProject) -> None:
    project.ok("upgrade")
    tables = project.tables()
    assert "economy_purses" in tables
    assert "economy_wallets" not in tables
    assert project.rows("SELECT id, name, nickname FROM economy_members ORDER BY id") == [
        (1, "ada", "a"),
        (2, "bob", None),
    ]
    assert project.rows("SELECT id, balance FROM economy_purses ORDER BY id") == [(1, 10), (2, 20)]
    assert project.ok("check").out.splitlines() == ["economy: up to date"]


def test_renames_answered_by_flags_keep_the_rows(project: BotProject) -> None:
    with_rows(project)
    made = project.ok(
        "migrate",
        "--rename",
        "economy_members.nick:nickname",
        "--rename-table",
        "economy_wallets:economy_purses",
    )
    assert "alter column economy_members.nick (rename to nickname)" in made.out, made
    assert "rename table economy_wallets (to economy_purses)" in made.out, made
    assert "drop" not in made.out, made
    assert "warning" not in made.out, made
    script = project.migration_text("economy", "0002")
    assert "new_column_name='nickname'" in script
    assert "op.rename_table('economy_wallets', 'economy_purses')" in script
    if project.backend == "sqlite":
        assert "batch_alter_table('economy_members'" in script
    assert_renamed_with_rows(project)

    project.ok("downgrade", "economy", "--yes")  # and back, with the rows
    assert project.rows("SELECT id, nick FROM economy_members ORDER BY id") == [
        (1, "a"),
        (2, None),
    ]
    assert project.rows("SELECT SUM(balance) FROM economy_wallets") == [(30,)]


def test_no_input_keeps_drop_and_add_with_a_warning(project: BotProject) -> None:
    with_rows(project)
    made = project.ok("migrate", "--no-input")
    lines = made.out.splitlines()
    assert "  - drop column economy_members.nick" in lines, made
    assert "  - drop table economy_wallets" in lines, made
    assert any(line.startswith("  - create table economy_purses") for line in lines), made
    assert (
        "  warning: kept drop + add of economy_members.nick / nickname; if it is a rename, "
        "delete this file and run again with --rename economy_members.nick:nickname"
    ) in lines, made
    assert any("--rename-table economy_wallets:economy_purses" in line for line in lines), made


def test_a_rename_flag_that_matches_nothing_writes_nothing(sqlite_project: BotProject) -> None:
    with_rows(sqlite_project)
    run = sqlite_project.nx("migrate", "--rename", "economy_members.name:nickname")
    assert run.code == 1, run
    assert "economy: error: " in run.out, run
    assert "no dropped and added column pair economy_members.name / nickname" in run.out, run
    assert sqlite_project.migrations("economy") == ["0001_create_members_and_create_wallets.py"]
    unknown = sqlite_project.nx("migrate", "--rename", "nope.a:b")
    assert unknown.code == 2, unknown
    assert "no loaded app has a table 'nope'" in unknown.err
    bad = sqlite_project.nx("migrate", "--rename", "economy_members:nick")
    assert bad.code == 2, bad
    assert "--rename wants TABLE.OLD:NEW" in bad.err


def _prompted(project: BotProject, *args: str, answers: dict[str, str]) -> str:
    """Run nxalembic on a pseudo-terminal, answering each question by a word it contains."""
    main, child = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    process = subprocess.Popen(
        [sys.executable, "-m", "nextcord_ormar.nxalembic", *args],
        cwd=project.root,
        env={**env, "PYTHONDONTWRITEBYTECODE": "1"},
        stdin=child,
        stdout=child,
        stderr=child,
    )
    os.close(child)
    seen = b""
    answered = 0
    try:
        while True:
            ready, _, _ = select.select([main], [], [], 120)
            assert ready, seen.decode(errors="replace")
            try:
                chunk = os.read(main, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
            text = seen.decode(errors="replace")
            if text.count("[y/N]") > answered:
                question = text.rsplit("did you rename", 1)[-1]
                word = next(w for w in answers if w in question)
                os.write(main, answers[word].encode() + b"\n")
                answered += 1
    finally:
        process.wait(timeout=120)
        os.close(main)
    assert process.returncode == 0, seen.decode(errors="replace")
    return seen.decode(errors="replace").replace("\r\n", "\n")


def test_renames_answered_at_the_prompt(sqlite_project: BotProject) -> None:
    with_rows(sqlite_project)
    out = _prompted(sqlite_project, "migrate", answers={"column": "y", "table": "n"})
    assert "did you rename column economy_members.nick to nickname?" in out
    assert "did you rename table economy_wallets to economy_purses?" in out
    assert "alter column economy_members.nick (rename to nickname)" in out
    assert "drop table economy_wallets" in out
    assert "kept drop + create of table economy_wallets / economy_purses" in out
    sqlite_project.ok("upgrade", "--yes")  # dropping the wallets table needs a yes
    assert sqlite_project.rows("SELECT nickname FROM economy_members ORDER BY id") == [
        ("a",),
        (None,),
    ]
    assert sqlite_project.rows("SELECT COUNT(*) FROM economy_purses") == [(0,)]
