"""Reading scripts without holding the GIL for a whole-file parse: same answers as before.

``chain.check_ids`` reads each script's ``revision`` from its header when it can and falls
back to the whole file otherwise; the check of a just-written script reads the functions'
bytecode of the module Alembic imported (see ``migrations/script_check.py``). These pin what
both say on real files, including the layouts where the shortcut must fall back.
"""

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

from nextcord_ormar.errors import MigrationError, ScriptCheckError
from nextcord_ormar.migrations import MigrationEngine
from nextcord_ormar.migrations.chain import check_ids
from nextcord_ormar.migrations.script_check import verify_script
from tests.conftest import CogProject
from tests.discord_harness import running_bot, table_names
from tests.sample_cogs import write_cogs

HEADER_FIRST = '''"""add loans

Revision ID: {rev}
"""
import sqlalchemy as sa
from alembic import op

revision = "{rev}"
down_revision = "0001"


def upgrade():
    op.create_table("loans", sa.Column("id", sa.Integer, primary_key=True))


def downgrade():
    op.drop_table("loans")
'''

# Hand-edited: the identifiers come after the functions.
IDS_LAST = '''"""add shops"""
from alembic import op


def upgrade():
    op.execute("SELECT 1")


def downgrade():
    pass


revision = "{rev}"
down_revision = "0001"
'''

# The docstring has a line starting with "def ": a header cut there does not parse.
DEF_IN_DOCSTRING = '''"""add games

def upgrade() was written by hand
"""
from alembic import op

revision = "{rev}"
down_revision = "0001"


def upgrade():
    op.execute("SELECT 1")
'''


@pytest.mark.parametrize("second", [HEADER_FIRST, IDS_LAST, DEF_IN_DOCSTRING])
def test_a_revision_used_twice_is_found_wherever_the_script_assigns_it(
    tmp_path: Path, second: str
) -> None:
    (tmp_path / "0002_add_loans.py").write_text(HEADER_FIRST.format(rev="0002"))
    (tmp_path / "0003_other.py").write_text(second.format(rev="0002"))
    with pytest.raises(MigrationError) as raised:
        check_ids("economy", tmp_path)
    message = str(raised.value)
    assert "0002_add_loans.py and 0003_other.py both have revision '0002'" in message


@pytest.mark.parametrize("second", [HEADER_FIRST, IDS_LAST, DEF_IN_DOCSTRING])
def test_distinct_revisions_pass_wherever_the_script_assigns_them(
    tmp_path: Path, second: str
) -> None:
    (tmp_path / "0002_add_loans.py").write_text(HEADER_FIRST.format(rev="0002"))
    (tmp_path / "0003_other.py").write_text(second.format(rev="0003"))
    check_ids("economy", tmp_path)  # no error


def _imported(path: Path, source: str) -> ModuleType:
    """``source`` written to ``path`` and imported the way Alembic imports a script."""
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(f"script_{path.stem}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


RUNS = """import sqlalchemy as sa
from alembic import op

import enum as _enum

revision = "0002"
COLUMNS = ["a", "b"]


class Helper:
    def columns(self):
        return [sa.Column(name, sa.Integer) for name in COLUMNS]


def upgrade():
    global LAST
    LAST = len(COLUMNS)
    kinds = _enum.Enum("Kinds", "A B")

    def nested():
        return [Helper().columns(), kinds, LAST, print]

    op.create_table("t", *nested()[0])
    from . import sibling  # a relative import is the package's business


def downgrade():
    op.drop_table("t")
"""


def test_a_script_that_can_run_passes(tmp_path: Path) -> None:
    path = tmp_path / "0002_runs.py"
    verify_script(path, _imported(path, RUNS))  # no error


def test_a_name_used_without_import_is_named_with_its_line(tmp_path: Path) -> None:
    source = RUNS.replace(
        '    op.drop_table("t")', '    op.add_column("t", sa.Column("p", Point(Precision.HIGH)))'
    )
    path = tmp_path / "0002_broken.py"
    with pytest.raises(ScriptCheckError) as raised:
        verify_script(path, _imported(path, source))
    line = source.splitlines().index(
        '    op.add_column("t", sa.Column("p", Point(Precision.HIGH)))'
    )
    assert str(raised.value) == (
        f"it uses 'Point' without importing it (line {line + 1}: "
        'op.add_column("t", sa.Column("p", Point(Precision.HIGH))))'
    )


def test_a_name_used_only_in_a_nested_function_or_method_is_found(tmp_path: Path) -> None:
    source = RUNS.replace("return [Helper().columns(), kinds, LAST, print]", "return [Missing]")
    source = source.replace("for name in COLUMNS]", "for name in ALSO_MISSING]")
    path = tmp_path / "0002_nested.py"
    with pytest.raises(ScriptCheckError, match="'ALSO_MISSING' without importing it"):
        verify_script(path, _imported(path, source))


def test_an_import_of_a_module_that_is_not_installed_is_refused(tmp_path: Path) -> None:
    source = RUNS.replace(
        "    from . import sibling", "    import nxo_not_installed_anywhere.sub as missing"
    )
    path = tmp_path / "0002_imports.py"
    assert "nxo_not_installed_anywhere" not in sys.modules
    with pytest.raises(ScriptCheckError) as raised:
        verify_script(path, _imported(path, source))
    assert str(raised.value) == "it imports 'nxo_not_installed_anywhere', which is not installed"


async def test_scripts_read_again_whenever_the_folder_changes(
    db_url: str, cog_project: CogProject
) -> None:
    """A reading of an app's scripts is shared between operations only while the folder's
    scripts are unchanged: an edit (even to the same size), a new script and a removed one
    all show in the next answer."""
    write_cogs(cog_project, moderation=False)
    async with running_bot(db_url, cog_project, extensions=("cogs.economy",)) as scene:
        engine = MigrationEngine.for_bot(scene.bot)
        made = await engine.make("economy", message="first try")
        assert made.path is not None
        assert [r.message for r in await engine.history("economy")] == ["first try"]

        text = made.path.read_text(encoding="utf-8")
        assert text.startswith('"""first try')
        edited = text.replace('"""first try', '"""first cut', 1)  # same size
        assert len(edited) == len(text)
        stat = made.path.stat()
        made.path.write_text(edited, encoding="utf-8")
        os.utime(made.path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000))
        assert [r.message for r in await engine.history("economy")] == ["first cut"]

        second = await engine.make("economy", message="by hand", empty=True)
        assert second.path is not None
        assert [r.message for r in await engine.history("economy")] == ["first cut", "by hand"]
        assert (await engine.upgrade(["economy"])).failed is None
        assert {"economy_wallets"} <= await table_names(db_url)

        second.path.unlink()
        assert [r.message for r in await engine.history("economy")] == ["first cut"]
