"""What ``make`` costs beyond Alembic's own autogenerate and render (issue 17, ``overhead``).

The check of a just-written script (``migrations/script_check.py``) reads the names its
functions use from their bytecode. It finds the instructions that name a global with one C
pass over the opcodes and spends Python work only on those, about one in ten of a generated
script's instructions; these pin that it answers exactly what :mod:`dis` answers, and that
its Python work follows the named instructions, not all of them.
"""

from __future__ import annotations

import dis
import importlib.util
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import CodeType, FrameType, ModuleType
from typing import Any

import pytest

from nextcord_ormar.migrations import MakeResult, MigrationEngine, operations, script_check
from tests.conftest import CogProject
from tests.discord_harness import running_bot
from tests.sample_cogs import many_tables

NAMING = {"LOAD_GLOBAL", "LOAD_NAME", "STORE_GLOBAL", "STORE_NAME", "DELETE_GLOBAL"}
NAMING |= {"DELETE_NAME", "IMPORT_NAME"}

# Names past 255 and 65535 in co_names: their instructions carry EXTENDED_ARG prefixes.
WIDE = "\n".join(
    [f"n{i} = {i}" for i in range(70_000)]
    + ["def f():", "    global n69999, n5", "    n69999 = n300 + n69998", "    import os.path"]
    + ["    from .. import x", "    del n5"]
)


def _all_codes(code: CodeType) -> Iterator[CodeType]:
    yield code
    for const in code.co_consts:
        if isinstance(const, CodeType):
            yield from _all_codes(const)


def _by_dis(code: CodeType) -> list[tuple[int, str, int | None]]:
    """What ``script_check._named`` must answer, read with :mod:`dis`."""
    found: list[tuple[int, str, int | None]] = []
    before: list[dis.Instruction] = []
    for ins in dis.get_instructions(code):
        if ins.opname in NAMING:
            level = None
            if ins.opname == "IMPORT_NAME" and len(before) >= 2:
                pushed = before[-2]
                if pushed.opname in ("LOAD_CONST", "LOAD_SMALL_INT"):
                    level = pushed.argval if isinstance(pushed.argval, int) else None
            found.append((ins.opcode, str(ins.argval), level))
        before = [*before[-1:], ins]
    return found


def _module_codes(source: str, name: str) -> list[CodeType]:
    return list(_all_codes(compile(source, name, "exec")))


@pytest.mark.parametrize(
    "module", ["alembic.operations.ops", "sqlalchemy.sql.schema", "dis", "WIDE"]
)
def test_the_names_read_from_bytecode_are_those_dis_reads(module: str) -> None:
    if module == "WIDE":
        source = WIDE
    else:
        spec = importlib.util.find_spec(module)
        assert spec is not None
        assert spec.origin is not None
        source = Path(spec.origin).read_text(encoding="utf-8")
    codes = _module_codes(source, module)
    assert sum(len(_by_dis(code)) for code in codes) > 100
    for code in codes:
        assert list(script_check._named(code)) == _by_dis(code), code.co_name
    if module == "WIDE":
        named = [n for code in codes if code.co_name == "f" for n in script_check._named(code)]
        assert {(name, level) for _, name, level in named} >= {
            ("n69999", None),
            ("n300", None),
            ("n69998", None),
            ("os.path", 0),
            ("n5", None),
        }
        assert ("", 2) in {(name, level) for _, name, level in named}


def _imported(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"made_{path.stem}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _lines_run_in_check(path: Path, module: ModuleType) -> int:
    """The Python lines of ``script_check`` that checking the script runs."""
    lines = 0
    home = script_check.__file__

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal lines
        if event == "line":
            lines += 1
        return local

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        return local if frame.f_code.co_filename == home else None

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        script_check.verify_script(path, module)
    finally:
        sys.settrace(previous)
    return lines


async def test_checking_a_large_made_script_works_per_named_instruction(
    db_url: str, cog_project: CogProject
) -> None:
    """A 60-table migration made on the database passes the check, and the check runs a
    dozen Python lines per instruction that names a global (7,500 here), not a few per
    instruction of the script (the walk of every instruction ran over 100,000)."""
    cog_project.write("cogs/__init__.py", "")
    cog_project.write("cogs/big.py", many_tables("big", 60))
    async with running_bot(db_url, cog_project, extensions=("cogs.big",)) as scene:
        made = await MigrationEngine.for_bot(scene.bot).make("big")
    assert made.outcome == "written"
    assert made.path is not None
    module = _imported(made.path)
    codes = list(script_check._codes(module, str(made.path)))
    named = sum(len(list(script_check._named(code))) for code in codes)
    instructions = sum(len(code.co_code) // 2 for code in codes)
    assert named >= 600
    assert instructions >= 10 * named
    assert _lines_run_in_check(made.path, module) <= 16 * named + 200


async def _make_counting_calls(
    db_url: str, cog_project: CogProject, code: CodeType, tables: int
) -> tuple[MakeResult, int]:
    """``make`` of a new cog of ``tables`` tables, and how many times ``code`` was called."""
    calls = 0

    def profiler(frame: FrameType, event: str, arg: Any) -> None:
        nonlocal calls
        if event == "call" and frame.f_code is code:
            calls += 1

    cog_project.write("cogs/__init__.py", "")
    cog_project.write("cogs/big.py", many_tables("big", tables))
    async with running_bot(db_url, cog_project, extensions=("cogs.big",)) as scene:
        engine = MigrationEngine.for_bot(scene.bot)
        # make's work runs in a worker thread: profile the threads started from now on too.
        threading.setprofile(profiler)
        sys.setprofile(profiler)
        try:
            made = await engine.make("big")
        finally:
            sys.setprofile(None)
            threading.setprofile(None)
            engine.close()
    assert made.outcome == "written"
    return made, calls


async def test_make_describes_each_operation_once(db_url: str, cog_project: CogProject) -> None:
    """The operations are read as data once per ``make``: the same list names the migration
    and is returned (they were described a second time after the script was written)."""
    made, calls = await _make_counting_calls(db_url, cog_project, operations.describe.__code__, 20)
    assert [op.kind for op in made.operations] == ["create_table"] * 20
    assert calls == 20


async def test_make_copies_each_created_table_once_to_render_it(
    db_url: str, cog_project: CogProject
) -> None:
    """Alembic copies a created table to render it; the downgrade's drop of it needs no copy
    (Alembic's own reverse made a second one per table, only to read its name back)."""
    from alembic.operations import ops

    made, copies = await _make_counting_calls(
        db_url, cog_project, ops.CreateTableOp.to_table.__code__, 20
    )
    assert made.script is not None
    assert made.script.count("op.drop_table(") == 20
    assert copies == 20
