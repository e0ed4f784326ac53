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

_OP = dis.opmap
_LOAD_GLOBAL, _LOAD_NAME, _IMPORT_NAME = _OP["LOAD_GLOBAL"], _OP["LOAD_NAME"], _OP["IMPORT_NAME"]
_LOADS = frozenset({_LOAD_GLOBAL, _LOAD_NAME})
_STORES = frozenset(_OP[n] for n in ("STORE_GLOBAL", "STORE_NAME", "DELETE_GLOBAL", "DELETE_NAME"))
_CONSTS = frozenset(_OP[n] for n in ("LOAD_CONST", "LOAD_SMALL_INT") if n in _OP)


def verify_script(path: Path, module: ModuleType) -> None:
    """Raise :class:`ScriptCheckError` if the functions of the script at ``path`` (imported
    as ``module``) import a module that is not installed or use a global name that the
    script neither defines nor imports."""
    codes = list(_codes(module, getattr(module, "__file__", None) or str(path)))
    found = [(code, list(_named(code))) for code in codes]
    defined = set(dir(builtins)) | set(vars(module))
    for code, named in found:
        defined.update(code.co_varnames, code.co_cellvars, code.co_freevars)
        defined.update(name for op, name, _ in named if op in _STORES)
    missing: set[str] = set()
    for _, named in found:
        for op, name, level in named:
            if op in _LOADS and name not in defined:
                missing.add(name)
            elif op == _IMPORT_NAME and level == 0:
                top = name.split(".")[0]
                if importlib.util.find_spec(top) is None:
                    raise ScriptCheckError(f"it imports {top!r}, which is not installed")
    if missing:
        line, name = min(_first_use(codes, missing))
        raise ScriptCheckError(
            f"it uses {name!r} without importing it (line {line}: {_line(path, line)})"
        )


def _named(code: CodeType) -> Iterator[tuple[int, str, int | None]]:
    """(opcode, name, import level) of the instructions of ``code`` that name a global.

    Read from the raw bytecode (two bytes an instruction since Python 3.11): much cheaper
    than :func:`dis.get_instructions`, which builds an object per instruction.
    """
    raw, names, consts = code.co_code, code.co_names, code.co_consts
    extended = 0
    recent: list[tuple[int, int]] = []  # the last two instructions before this one
    for index in range(0, len(raw), 2):
        op, arg = raw[index], raw[index + 1] | extended
        if op == dis.EXTENDED_ARG:
            extended = arg << 8
            continue
        extended = 0
        if op == _LOAD_GLOBAL:
            yield op, names[arg >> 1], None  # the low bit says whether NULL is pushed
        elif op in _LOADS or op in _STORES:
            yield op, names[arg], None
        elif op == _IMPORT_NAME:
            yield op, names[arg], _level(recent, consts)
        if op != 0:  # 0 is CACHE: inline space of the instruction before, not an instruction
            recent = [*recent[-1:], (op, arg)]


def _level(recent: list[tuple[int, int]], consts: tuple[object, ...]) -> int | None:
    """The level of an ``IMPORT_NAME``: pushed two instructions before it (None: unknown)."""
    if len(recent) < 2 or recent[0][0] not in _CONSTS:
        return None
    op, arg = recent[0]
    value = consts[arg] if op == _OP["LOAD_CONST"] else arg
    return value if isinstance(value, int) else None


def _first_use(codes: list[CodeType], missing: set[str]) -> Iterator[tuple[int, str]]:
    """(line, name) of each use of a missing name (only on failure: :mod:`dis` is slow)."""
    for code in codes:
        for ins in dis.get_instructions(code):
            if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME") and ins.argval in missing:
                yield _line_of(ins, code), str(ins.argval)


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


def _line_of(ins: dis.Instruction, code: CodeType) -> int:
    positions = ins.positions
    if positions is not None and positions.lineno is not None:
        return positions.lineno
    return code.co_firstlineno


def _line(path: Path, number: int) -> str:
    lines = path.read_text(encoding="utf-8").splitlines()
    text = lines[number - 1].strip() if 0 < number <= len(lines) else ""
    return text if len(text) <= 120 else text[:117] + "..."
