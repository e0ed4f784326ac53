"""nxalembic asks before it destroys data, like /migrate does (issues 11.2, 14.3, 14.4).

A downgrade, and an upgrade whose plan drops something, need a yes: ``--yes``, or ``y`` at
the ``[y/N]`` prompt on a terminal. Without one (not a terminal, or ``--no-input``) nothing
changes and exit status 1 names ``--yes``. Terminal runs go through a real pseudo-terminal.
"""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import time
from collections.abc import Callable

import pytest

from tests.cli.project import BotProject
from tests.leakcheck import saw

MEMBERS = """
class Member(AppModel):
    ormar_config = app.config()
    id: int = ormar.Integer(primary_key=True)
    name: str = ormar.String(max_length=50, nullable=True)
"""

DROP_NAME = """
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("economy_members") as batch:
        batch.drop_column("name")


def downgrade():
    with op.batch_alter_table("economy_members") as batch:
        batch.add_column(sa.Column("name", sa.String(50), nullable=True))
"""


def _applied(project: BotProject) -> None:
    project.write_cog("economy", MEMBERS)
    project.write_bot("cogs.economy")
    project.ok("migrate")
    project.ok("upgrade")
    project.execute("INSERT INTO economy_members (id, name) VALUES (1, 'ada'), (2, 'bob')")


def _on_terminal(
    project: BotProject, answer: str, *args: str, meanwhile: Callable[[], None] = lambda: None
) -> tuple[int, str]:
    """Run nxalembic with a pseudo-terminal as stdin/stdout; type ``answer`` at the prompt.

    ``meanwhile`` runs while the question waits, before the answer is typed.
    """
    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    process = subprocess.Popen(
        [sys.executable, "-m", "nextcord_ormar.nxalembic", *args],
        cwd=project.root,
        env=env,
        stdin=follower,
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    seen = b""
    deadline = time.monotonic() + 120
    answered = False
    while time.monotonic() < deadline:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
        if not answered and b"[y/N]" in seen:
            meanwhile()
            os.write(leader, answer.encode() + b"\n")
            answered = True
    code = process.wait(timeout=120)
    os.close(leader)
    text = seen.decode(errors="replace")
    saw("nxalembic (terminal) " + " ".join(args), text)
    return code, text


@pytest.mark.parametrize("backend", ["sqlite", "postgresql", "mysql"])
def test_downgrade_without_an_answer_refuses_and_changes_nothing(project: BotProject) -> None:
    _applied(project)
    run = project.nx("downgrade", "economy", "base")
    assert run.code == 1, run
    assert "--yes" in run.err, run
    assert "drops table economy_members and all its rows (2 rows lost)" in run.err, run
    assert "nothing changed" in run.err, run
    assert project.version("economy") == "0001"
    assert "economy_members" in project.tables()

    refused = project.nx("downgrade", "economy", "base", "--no-input")
    assert refused.code == 1, refused

    done = project.ok("downgrade", "economy", "base", "--yes")
    assert "economy: 0001 -> base" in done.out, done
    assert project.version("economy") is None
    assert "economy_members" not in project.tables()


@pytest.mark.parametrize("backend", ["sqlite"])
def test_on_a_terminal_downgrade_asks_and_n_keeps_everything(project: BotProject) -> None:
    _applied(project)
    code, text = _on_terminal(project, "n", "downgrade", "economy", "base")
    assert code == 1, text
    assert "This will undo 1 migration:" in text
    assert "drops table economy_members and all its rows (2 rows lost)" in text
    assert "not confirmed; nothing changed" in text
    assert project.version("economy") == "0001"
    assert project.rows("SELECT count(*) FROM economy_members") == [(2,)]

    code, text = _on_terminal(project, "y", "downgrade", "economy", "base")
    assert code == 0, text
    assert "economy: 0001 -> base" in text
    assert "economy_members" not in project.tables()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_an_upgrade_that_drops_a_column_asks_like_the_cog(project: BotProject) -> None:
    """The drop sits in a batch alias (``batch.drop_column``): found from the operations."""
    _applied(project)
    project.write("cogs/economy/migrations/0002_drop_name.py", DROP_NAME)

    run = project.nx("upgrade")
    assert run.code == 1, run
    assert "drops column economy_members.name: its data is lost (2 rows hold it)" in run.err
    assert "--yes" in run.err
    assert project.version("economy") == "0001"
    assert "name" in project.columns("economy_members")

    code, text = _on_terminal(project, "y", "upgrade")
    assert code == 0, text
    assert "drops column economy_members.name" in text
    assert project.version("economy") == "0002"
    assert "name" not in project.columns("economy_members")


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize(
    "body",
    [
        'op.execute("DROP TABLE economy_members")',
        'op.execute("TRUNCATE economy_members")',
        "op.execute('DELETE FROM economy_members')",
        'op.alter_column("economy_members", "name", type_=sa.String(5))',
    ],
)
def test_raw_sql_and_type_changes_count_as_destructive(project: BotProject, body: str) -> None:
    _applied(project)
    script = DROP_NAME.replace(
        """    with op.batch_alter_table("economy_members") as batch:
        batch.drop_column("name")
""",
        f"    {body}\n",
        1,
    )
    project.write("cogs/economy/migrations/0002_raw.py", script)
    run = project.nx("upgrade")
    assert run.code == 1, run
    assert "--yes" in run.err, run
    assert project.version("economy") == "0001"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_what_runs_is_what_was_confirmed(project: BotProject) -> None:
    """Another process applies a migration while the question waits: refused, nothing ran."""
    _applied(project)
    project.ok("migrate", "--app", "economy", "--empty", "-m", "second")
    project.ok("upgrade")
    project.ok("migrate", "--app", "economy", "--empty", "-m", "third")

    def someone_upgrades() -> None:
        project.ok("upgrade")

    code, text = _on_terminal(
        project, "y", "downgrade", "economy", "-1", meanwhile=someone_upgrades
    )
    assert code == 1, text
    assert "undo 1 migration" in text
    assert "the database changed while you were confirming; run the command again" in text
    assert project.version("economy") == "0003"
    assert "economy_members" in project.tables()
