"""Large migration scripts are compiled by a child process, never by the engine's own.

Compiling a large script is one C call that holds the GIL while the bot's loop waits (see
``migrations/bytecode.py``). These tests watch the builtin ``compile()`` (every import of a
source file goes through it) with a wrapper that records the file names it is called for,
and look at the bytecode files left next to the scripts.
"""

from __future__ import annotations

import builtins
import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.util import pyfiles

from nextcord_ormar.migrations import MigrationEngine, bytecode
from tests.conftest import CogProject
from tests.discord_harness import running_bot, table_names
from tests.sample_cogs import many_tables

TABLES = 110  # a script of about 45 KB, above bytecode.THRESHOLD


class Compiles:
    """The file names ``compile()`` was called for in this process, while installed."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self._original = builtins.compile

    def _compile(self, source: Any, filename: Any, *args: Any, **kwargs: Any) -> Any:
        self.names.append(os.fsdecode(filename) if isinstance(filename, str | bytes) else "")
        return self._original(source, filename, *args, **kwargs)

    def of(self, folder: Path) -> list[str]:
        return [name for name in self.names if Path(name).parent == folder]


@pytest.fixture
def compiles() -> Iterator[Compiles]:
    watch = Compiles()
    builtins.compile = watch._compile
    try:
        yield watch
    finally:
        builtins.compile = watch._original


@pytest.fixture
def bytecode_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """Python's default: bytecode is written (whatever the environment running the tests)."""
    monkeypatch.setattr(sys, "dont_write_bytecode", False)


def _big_cog(project: CogProject) -> Path:
    project.write("cogs/__init__.py", "")
    project.write("cogs/big.py", many_tables("big", TABLES))
    return project.root / "cogs" / "big" / "migrations"


def _checked_hash_pyc(script: Path) -> bool:
    """Whether the script's cache path holds checked hash-based bytecode of its source."""
    cfile = Path(importlib.util.cache_from_source(str(script)))
    if not cfile.exists():
        return False
    head = cfile.read_bytes()[:16]
    flags = int.from_bytes(head[4:8], "little")
    source_hash = importlib.util.source_hash(script.read_bytes())
    return head[:4] == importlib.util.MAGIC_NUMBER and flags == 0b11 and head[8:] == source_hash


async def test_make_and_upgrade_compile_no_large_script_in_process(
    db_url: str, cog_project: CogProject, compiles: Compiles, bytecode_on: None
) -> None:
    folder = _big_cog(cog_project)
    async with running_bot(db_url, cog_project, extensions=("cogs.big",)) as scene:
        engine = MigrationEngine.for_bot(scene.bot)
        # "café": Alembic's file name keeps the "é", ours does not: the script is renamed
        made = await engine.make("big", message="café tables")
        assert made.path is not None
        assert made.path.name.endswith("_cafe_tables.py")
        assert made.path.stat().st_size >= bytecode.THRESHOLD
        assert [p.name for p in folder.glob("*.py")] == [made.path.name]
        assert _checked_hash_pyc(made.path)  # written by the child, moved with the rename
        pycs = list((folder / "__pycache__").iterdir())
        assert pycs == [Path(importlib.util.cache_from_source(str(made.path)))]

        # no bytecode at all: the upgrade's readings have the child compile it again
        pycs[0].unlink()
        assert (await engine.upgrade(["big"])).failed is None
        assert _checked_hash_pyc(made.path)
    assert compiles.of(folder) == []
    assert {f"big_model{i}s" for i in range(TABLES)} <= await table_names(db_url)


async def test_a_folder_where_bytecode_cannot_be_written_gets_it_in_memory(
    db_url: str, cog_project: CogProject, compiles: Compiles, bytecode_on: None
) -> None:
    """A read-only folder (here: ``__pycache__`` is a file) is left alone; nothing compiles here."""
    folder = _big_cog(cog_project)
    folder.mkdir(parents=True)
    (folder / "__pycache__").write_text("not a folder", encoding="utf-8")
    async with running_bot(db_url, cog_project, extensions=("cogs.big",)) as scene:
        engine = MigrationEngine.for_bot(scene.bot)
        made = await engine.make("big", message="big tables")
        assert made.path is not None
        assert (await engine.upgrade(["big"])).failed is None
    assert compiles.of(folder) == []  # the child compiled it; its code was kept in memory
    assert (folder / "__pycache__").read_text(encoding="utf-8") == "not a folder"
    assert {f"big_model{i}s" for i in range(TABLES)} <= await table_names(db_url)


BROKEN = '''"""broken by hand"""
from alembic import op

revision = "0001"
down_revision = None


def upgrade():
    op.execute("SELECT 1")
{padding}
    return )


def downgrade():
    pass
'''


async def test_a_large_script_with_a_syntax_error_gives_alembics_error(
    db_url: str, cog_project: CogProject, bytecode_on: None
) -> None:
    folder = _big_cog(cog_project)
    folder.mkdir(parents=True)
    padding = "\n".join(f"    # line {i} of a long hand-written comment" for i in range(1200))
    script = folder / "0001_broken.py"
    script.write_text(BROKEN.format(padding=padding), encoding="utf-8")
    assert script.stat().st_size >= bytecode.THRESHOLD
    async with running_bot(db_url, cog_project, extensions=("cogs.big",)) as scene:
        engine = MigrationEngine.for_bot(scene.bot)
        with pytest.raises(SyntaxError, match="unmatched"):  # as without the child
            await engine.upgrade(["big"])
    assert not Path(importlib.util.cache_from_source(str(script))).exists()


async def test_with_dont_write_bytecode_nothing_is_written_nor_compiled_here(
    db_url: str, cog_project: CogProject, compiles: Compiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``PYTHONDONTWRITEBYTECODE`` (container images set it): the child's code stays in memory."""
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    folder = _big_cog(cog_project)
    async with running_bot(db_url, cog_project, extensions=("cogs.big",)) as scene:
        engine = MigrationEngine.for_bot(scene.bot)
        made = await engine.make("big", message="big tables")
        assert made.path is not None
        assert made.path.stat().st_size >= bytecode.THRESHOLD
        assert (await engine.upgrade(["big"])).failed is None
        assert (await engine.downgrade("big", "base")).failed is None
        assert not {f"big_model{i}s" for i in range(TABLES)} & await table_names(db_url)
        assert (await engine.upgrade(["big"])).failed is None
    assert not (folder / "__pycache__").exists()
    assert not list(cog_project.root.rglob("*.pyc"))
    assert compiles.of(folder) == []
    assert {f"big_model{i}s" for i in range(TABLES)} <= await table_names(db_url)


def _load_as_alembic_does(script: Path) -> Any:
    return pyfiles.load_python_file(str(script.parent), script.name)


def test_in_memory_code_is_used_only_while_the_source_is_the_same(
    tmp_path: Path, compiles: Compiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An edit within the same second and size is never hidden; tracebacks name the file."""
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    script = tmp_path / "0001_same.py"
    _write_large(script, 1)
    stat = script.stat()
    assert stat.st_size >= bytecode.THRESHOLD
    assert bytecode.compile_out_of_process([script])
    module = _load_as_alembic_does(script)
    assert module.ANSWER == 1
    assert module.where.__code__.co_filename == str(script)
    assert compiles.of(tmp_path) == []  # the kept code ran

    _write_large(script, 2)
    os.utime(script, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same time, same size
    assert script.stat().st_size == stat.st_size
    assert _load_as_alembic_does(script).ANSWER == 2
    assert [Path(name).name for name in compiles.of(tmp_path)] == [script.name]  # Alembic's
    assert bytecode.compile_out_of_process([script])  # compiled again, kept again
    assert _load_as_alembic_does(script).ANSWER == 2
    assert len(compiles.of(tmp_path)) == 1
    assert not list(tmp_path.rglob("*.pyc"))


def test_in_memory_code_follows_a_rename_and_is_forgotten_with_the_script(
    tmp_path: Path, compiles: Compiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    first = tmp_path / "0001_first.py"
    _write_large(first, 1)
    assert bytecode.compile_out_of_process([first])
    renamed = first.with_name("0001_renamed.py")
    os.rename(first, renamed)
    bytecode.follow_rename(first, renamed)
    module = _load_as_alembic_does(renamed)
    assert module.where.__code__.co_filename == str(renamed)
    assert compiles.of(tmp_path) == []
    bytecode.forget(renamed)
    assert _load_as_alembic_does(renamed).ANSWER == 1
    assert [Path(name).name for name in compiles.of(tmp_path)] == [renamed.name]


def test_in_memory_code_is_bounded(
    tmp_path: Path, compiles: Compiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past ``MEMORY_LIMIT`` the oldest script's code is forgotten (and compiled by Alembic)."""
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    scripts = [tmp_path / f"000{i}_s.py" for i in (1, 2)]
    for answer, script in enumerate(scripts):
        _write_large(script, answer)
        assert bytecode.compile_out_of_process([script])
    assert compiles.of(tmp_path) == []
    monkeypatch.setattr(bytecode, "MEMORY_LIMIT", 1)
    third = tmp_path / "0003_s.py"
    _write_large(third, 3)
    assert bytecode.compile_out_of_process([third])
    assert [_load_as_alembic_does(s).ANSWER for s in (*scripts, third)] == [0, 1, 3]
    assert sorted(Path(name).name for name in compiles.of(tmp_path)) == [s.name for s in scripts]


async def test_a_large_broken_script_without_bytecode_gives_alembics_error(
    db_url: str, cog_project: CogProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    folder = _big_cog(cog_project)
    folder.mkdir(parents=True)
    padding = "\n".join(f"    # line {i} of a long hand-written comment" for i in range(1200))
    (folder / "0001_broken.py").write_text(BROKEN.format(padding=padding), encoding="utf-8")
    async with running_bot(db_url, cog_project, extensions=("cogs.big",)) as scene:
        engine = MigrationEngine.for_bot(scene.bot)
        with pytest.raises(SyntaxError, match="unmatched"):  # as without the child
            await engine.upgrade(["big"])
    assert not (folder / "__pycache__").exists()


SCRIPT = '''"""same size"""
revision = "0001"
down_revision = None
ANSWER = {answer}


def where():
    pass
{padding}
'''


def _write_large(script: Path, answer: int) -> None:
    """Write SCRIPT with ``ANSWER = answer``, padded above the threshold (always the same size)."""
    padding = "\n".join(f"# line {i} of padding to make the script large" for i in range(900))
    script.write_text(SCRIPT.format(answer=answer, padding=padding), encoding="utf-8")


def test_an_edit_within_the_same_second_and_size_is_never_hidden(
    tmp_path: Path, bytecode_on: None
) -> None:
    """The child's bytecode is checked against a hash of the source at each import."""
    script = tmp_path / "0001_same.py"
    _write_large(script, 1)
    stat = script.stat()
    assert stat.st_size >= bytecode.THRESHOLD
    assert bytecode.compile_out_of_process([script])
    assert _checked_hash_pyc(script)

    _write_large(script, 2)
    os.utime(script, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same time, same size
    assert script.stat().st_size == stat.st_size

    spec = importlib.util.spec_from_file_location("same_size_script", script)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.ANSWER == 2
    assert bytecode.compile_out_of_process([script])  # stale: compiled again, fresh after
    assert _checked_hash_pyc(script)


async def test_a_small_make_runs_no_hook_and_prints_nothing(
    db_url: str,
    cog_project: CogProject,
    compiles: Compiles,
    bytecode_on: None,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """Alembic prints a line for each post-write hook: ours runs only for a large script."""
    cog_project.write("cogs/__init__.py", "")
    cog_project.write("cogs/small.py", many_tables("small", 2))
    folder = cog_project.root / "cogs" / "small" / "migrations"
    async with running_bot(db_url, cog_project, extensions=("cogs.small",)) as scene:
        engine = MigrationEngine.for_bot(scene.bot)
        made = await engine.make("small", message="two tables")
        assert made.path is not None
        assert made.path.stat().st_size < bytecode.THRESHOLD
    assert "post write hook" not in capfd.readouterr().out
    assert [Path(name).name for name in compiles.of(folder)] == [made.path.name]


async def test_on_the_loop_no_child_is_waited_for(
    db_url: str, cog_project: CogProject, compiles: Compiles, bytecode_on: None
) -> None:
    """With ``in_thread=False`` the loop would wait for the child: Python compiles, as before."""
    folder = _big_cog(cog_project)
    async with running_bot(db_url, cog_project, extensions=("cogs.big",)) as scene:
        engine = MigrationEngine.for_bot(scene.bot, in_thread=False)
        made = await engine.make("big", message="big tables")
        assert made.path is not None
        assert (await engine.upgrade(["big"])).failed is None
    assert [Path(name).name for name in compiles.of(folder)] == [made.path.name]
    assert not _checked_hash_pyc(made.path)  # Python's own timestamp bytecode
    assert Path(importlib.util.cache_from_source(str(made.path))).exists()
