"""The check that a just-generated script can run, made on the module Alembic imported.

Alembic imports every script it writes, so by the time we look the script compiles and its
module-level code (its imports among it) ran. What can still fail at upgrade is inside the
functions: a global name the script neither defines nor imports (a type rendered as
``Precision.HIGH`` without its import), or an import of a module that is not installed.
Both are read from the functions' bytecode. Re-parsing the source would give the same
answer, but parsing and compiling are single calls that hold the GIL (about 20 ms each for a
300-table script), and a bot's event loop cannot run meanwhile; walking bytecode is ordinary
Python the interpreter switches away from every millisecond.
"""

from __future__ import annotations

import builtins
import dis
import importlib.util
from collections.abc import Iterator
from pathlib import Path
from types import CodeType, FunctionType, ModuleType

from ..errors import ScriptCheckError

__all__ = ["ScriptCheckError", "verify_script"]

_LOADS = frozenset({"LOAD_GLOBAL", "LOAD_NAME"})
_STORES = frozenset({"STORE_GLOBAL", "STORE_NAME", "DELETE_GLOBAL", "DELETE_NAME"})


def verify_script(path: Path, module: ModuleType) -> None:
    """Raise :class:`ScriptCheckError` if the functions of the script at ``path`` (imported
    as ``module``) import a module that is not installed or use a global name that the
    script neither defines nor imports."""
    codes = list(_codes(module, getattr(module, "__file__", None) or str(path)))
    defined = set(dir(builtins)) | set(vars(module))
    for code in codes:
        defined.update(code.co_varnames, code.co_cellvars, code.co_freevars)
        defined.update(i.argval for i in dis.get_instructions(code) if i.opname in _STORES)
    missing: list[tuple[int, str]] = []
    for code in codes:
        instructions = list(dis.get_instructions(code))
        for index, ins in enumerate(instructions):
            if ins.opname in _LOADS and ins.argval not in defined:
                missing.append((_line_of(ins, code), str(ins.argval)))
            elif ins.opname == "IMPORT_NAME" and _absolute(instructions, index):
                top = str(ins.argval).split(".")[0]
                if importlib.util.find_spec(top) is None:
                    raise ScriptCheckError(f"it imports {top!r}, which is not installed")
    if missing:
        line, name = min(missing)
        raise ScriptCheckError(
            f"it uses {name!r} without importing it (line {line}: {_line(path, line)})"
        )


def _codes(module: ModuleType, filename: str) -> Iterator[CodeType]:
    """The code of every function and method the script defines, nested ones included."""
    seen: set[int] = set()
    stack: list[CodeType] = []
    for value in vars(module).values():
        members = vars(value).values() if isinstance(value, type) else [value]
        for member in members:
            code = getattr(member, "__code__", None) if isinstance(member, FunctionType) else None
            if isinstance(code, CodeType) and code.co_filename == filename:
                stack.append(code)
    while stack:
        code = stack.pop()
        if id(code) in seen:
            continue
        seen.add(id(code))
        yield code
        stack.extend(const for const in code.co_consts if isinstance(const, CodeType))


def _absolute(instructions: list[dis.Instruction], index: int) -> bool:
    """Whether the ``IMPORT_NAME`` at ``index`` is absolute (its level, two back, is 0)."""
    level = instructions[index - 2] if index >= 2 else None
    return level is not None and level.opname == "LOAD_CONST" and level.argval == 0


def _line_of(ins: dis.Instruction, code: CodeType) -> int:
    positions = ins.positions
    if positions is not None and positions.lineno is not None:
        return positions.lineno
    return code.co_firstlineno


def _line(path: Path, number: int) -> str:
    lines = path.read_text(encoding="utf-8").splitlines()
    text = lines[number - 1].strip() if 0 < number <= len(lines) else ""
    return text if len(text) <= 120 else text[:117] + "..."
