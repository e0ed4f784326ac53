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
import re
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
#: Any one of the opcodes that name a global (read at the even offsets of ``co_code``).
_WANTED = re.compile(b"[" + re.escape(bytes(sorted(_LOADS | _STORES | {_IMPORT_NAME}))) + b"]")


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

    Read from the raw bytecode (two bytes an instruction since Python 3.11): the opcodes
    sit at the even offsets, and :data:`_WANTED` finds the few that name a global in one C
    pass over them, so only those (about one in ten of a generated script) cost Python
    work; walking every instruction in Python took 25 ms for a 300-table script, and
    :func:`dis.get_instructions`, which builds an object per instruction, far more.
    """
    raw, names, consts = code.co_code, code.co_names, code.co_consts
    ops, args = raw[0::2], raw[1::2]
    for found in _WANTED.finditer(ops):
        index = found.start()
        op, arg, _ = _instruction(ops, args, index)
        if op == _LOAD_GLOBAL:
            yield op, names[arg >> 1], None  # the low bit says whether NULL is pushed
        elif op == _IMPORT_NAME:
            yield op, names[arg], _level(_before(ops, args, index), consts)
        else:
            yield op, names[arg], None


def _instruction(ops: bytes, args: bytes, index: int) -> tuple[int, int, int]:
    """(opcode, argument, index of its first ``EXTENDED_ARG``) of the instruction whose
    opcode is at ``index``: the ``EXTENDED_ARG`` prefixes right before it widen its argument.
    """
    arg, shift, start = args[index], 8, index
    while start > 0 and ops[start - 1] == dis.EXTENDED_ARG:
        start -= 1
        arg |= args[start] << shift
        shift += 8
    return ops[index], arg, start


def _before(ops: bytes, args: bytes, index: int) -> list[tuple[int, int]]:
    """The two instructions before the one at ``index`` as (opcode, argument), oldest first;
    fewer at the start of the code. ``CACHE`` entries (opcode 0: inline space of the
    instruction before them, not instructions) are skipped."""
    found: list[tuple[int, int]] = []
    start = _instruction(ops, args, index)[2]
    while len(found) < 2:
        start -= 1
        while start >= 0 and ops[start] == 0:
            start -= 1
        if start < 0:
            break
        op, arg, start = _instruction(ops, args, start)
        found.insert(0, (op, arg))
    return found


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
