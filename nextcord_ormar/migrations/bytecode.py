"""Large migration scripts compiled by a child process, never by the bot's.

Compiling a script is one C call that holds the GIL for its whole length (about 30 ms for
a 300-table script of 200 KB): the bot's loop cannot run meanwhile, whatever the switch
interval. Alembic imports every script of an app's folder when it reads it; an import reads
the script's bytecode (``importlib.util.cache_from_source``) instead of compiling when that
bytecode is valid. So, before Alembic reads a folder (:func:`prepare`) and right after it
writes a script (the post-write hook :data:`HOOK`), every script of at least
:data:`THRESHOLD` bytes whose bytecode is missing or stale is compiled by one child process
while the calling thread waits (which releases the GIL).

The child writes *checked hash-based* ``.pyc`` files: Python validates them against a hash
of the source at every import, so an edit that keeps the size and the second of the
modification time can never load old code. Nothing here ever fails a command: if the child
cannot run or fails (a syntax error, ...), Alembic's import compiles in-process as before,
with its own error for a broken script; if it cannot write, see the next paragraph.

Where no file may be written (``sys.dont_write_bytecode``, that is ``PYTHONDONTWRITEBYTECODE``,
common in container images; a read-only folder; ``--check-hash-based-pycs never``) the child
sends the compiled code back instead (``marshal``), with a hash of the source it read, and this
process keeps it in memory (:data:`MEMORY_LIMIT` bytes at most). Alembic loads each script
through ``alembic.util.pyfiles.load_module_py``; :func:`_load_module_py` takes its place once a
script was compiled that way: for a script whose current source hashes to the kept hash it runs
the kept code (unmarshalling 200 KB of bytecode takes about 0.2 ms), for any other file it calls
Alembic's own. Nothing is written to disk in that mode, and a script edited since is compiled by
Alembic's import as usual.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import marshal
import os
import subprocess
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import CodeType, ModuleType
from typing import Any

from alembic.script import ScriptDirectory, write_hooks

__all__ = [
    "HOOK",
    "MEMORY_LIMIT",
    "THRESHOLD",
    "compile_after_write",
    "compile_out_of_process",
    "enabled",
    "follow_rename",
    "forget",
    "prepare",
    "worth_it",
]

log = logging.getLogger(__name__)

#: Scripts smaller than this are left to Alembic's import: compiling 32 KiB takes about
#: 4 ms on an idle core (less than Python's default 5 ms switch interval), while starting
#: the child takes about 20 ms (measured in bench/README.md, issue 17 round 2).
THRESHOLD = 32 * 1024

#: The post-write hook's name and type (see :func:`compile_after_write`).
HOOK = "nextcord_ormar_bytecode"

#: How long the child may take before it is given up (then Alembic compiles in-process).
CHILD_TIMEOUT = 60.0

# The child: ``python -I -S -c CHILD OPTIMIZE SOURCE CFILE [SOURCE CFILE ...]``. Isolated
# and without site: it starts in about 20 ms and needs only the standard library.
_CHILD = """\
import py_compile, sys
optimize = int(sys.argv[1])
failed = 0
pairs = sys.argv[2:]
for source, cfile in zip(pairs[::2], pairs[1::2]):
    try:
        py_compile.compile(source, cfile=cfile, doraise=True, optimize=optimize,
                           invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)
    except Exception as exc:
        failed += 1
        sys.stderr.write(type(exc).__name__ + "\\n")
sys.exit(1 if failed else 0)
"""

# The child that writes nothing: ``python -I -S -c MEMORY_CHILD OPTIMIZE SOURCE [SOURCE ...]``
# prints, for each source in order, the source hash (8 bytes), the length of the marshalled
# code (8 bytes, little-endian; 0 when that source failed) and the code. The same interpreter
# reads it back, so the marshal format and the hash key are the parent's.
_MEMORY_CHILD = """\
import importlib.util, marshal, sys
optimize = int(sys.argv[1])
out = sys.stdout.buffer
failed = 0
for source in sys.argv[2:]:
    digest, blob = bytes(8), b""
    try:
        with open(source, "rb") as file:
            data = file.read()
        code = compile(data, source, "exec", dont_inherit=True, optimize=optimize)
        digest, blob = importlib.util.source_hash(data), marshal.dumps(code)
    except Exception as exc:
        failed += 1
        sys.stderr.write(type(exc).__name__ + "\\n")
    out.write(digest + len(blob).to_bytes(8, "little") + blob)
out.flush()
sys.exit(1 if failed else 0)
"""

#: The most bytes of compiled code kept in memory (the oldest scripts are forgotten first).
#: A 300-table script's code is about 150 KB.
MEMORY_LIMIT = 32 * 1024 * 1024

#: A timestamp ``.pyc`` written less than this long after its source's modification time
#: may predate a second edit within the same second: it is replaced by a hash-based one.
_RACE_WINDOW = 2.0

_Key = tuple[tuple[str, int, int], ...]
#: Sets of scripts a child failed to compile, as they were: not tried again until changed.
_FAILED: set[_Key] = set()
_FAILED_LOCK = threading.Lock()

#: Code compiled by the memory child: the script's path (see :func:`_key`) -> (the hash of the
#: source it was compiled from, the marshalled code), oldest first.
_MEMORY: OrderedDict[str, tuple[bytes, bytes]] = OrderedDict()
_MEMORY_LOCK = threading.Lock()
#: Alembic's own ``load_module_py``, once :func:`_load_module_py` has taken its place.
_ALEMBIC_LOAD: Callable[[str, Any], ModuleType] | None = None


def enabled() -> bool:
    """Whether bytecode may be written for scripts (not with ``PYTHONDONTWRITEBYTECODE``)."""
    if sys.dont_write_bytecode or not sys.executable:
        return False
    if sys.implementation.cache_tag is None:
        return False
    # ``--check-hash-based-pycs never``: hash-based bytecode would not be checked
    import _imp

    return getattr(_imp, "check_hash_based_pycs", "default") != "never"


def _can_spawn() -> bool:
    return bool(sys.executable)


def cache_path(source: Path) -> Path | None:
    try:
        return Path(importlib.util.cache_from_source(str(source)))
    except (NotImplementedError, ValueError):
        return None


def worth_it() -> bool:
    """Whether this thread should hand compiling to a child: a worker thread, not the main one.

    A worker thread waiting for the child releases the GIL to the bot's loop. The main
    thread (the bot's loop itself with ``in_thread=False``, or a script of the user's)
    would only wait longer than compiling takes.
    """
    return _can_spawn() and threading.current_thread() is not threading.main_thread()


def prepare(folder: Path) -> None:
    """Compile, in one child, the folder's large scripts whose bytecode is missing or stale.

    Only from a worker thread (:func:`worth_it`); elsewhere Alembic's import compiles.
    """
    if not worth_it():
        return
    try:
        with os.scandir(folder) as entries:
            sources = [
                Path(entry.path)
                for entry in entries
                if entry.name.endswith(".py") and entry.is_file()
            ]
    except OSError:
        return
    compile_out_of_process(sources)


def compile_out_of_process(sources: Iterable[Path]) -> bool:
    """Compile each large script of ``sources`` lacking valid bytecode in one child process.

    To ``.pyc`` files where they may be written, else to memory (see above). Returns whether
    every such script now has valid bytecode (``True`` when none needed it). Never raises: on
    any failure Alembic's import compiles in-process, as it would.
    """
    if not _can_spawn():
        return False
    large: list[tuple[Path, os.stat_result]] = []
    for source in sources:
        try:
            stat = source.stat()
        except OSError:
            continue
        if stat.st_size >= THRESHOLD:
            large.append((source, stat))
    if not large:
        return True
    if enabled():
        pending = [
            (source, cfile, stat)
            for source, stat in large
            if (cfile := cache_path(source)) is not None and not _valid(source, cfile, stat)
        ]
        if not pending:
            return True
        if all(_writable(cfile.parent) for _, cfile, _ in pending) and _compile_to_files(pending):
            return True
        log.debug("bytecode of %d script(s) not written: compiling to memory", len(pending))
    return _compile_to_memory([source for source, _ in large])


def _failed_before(key: _Key) -> bool:
    with _FAILED_LOCK:
        return key in _FAILED


def _remember_failure(key: _Key) -> None:
    with _FAILED_LOCK:
        _FAILED.add(key)


def _run_child(args: list[str]) -> subprocess.CompletedProcess[bytes] | None:
    try:
        return subprocess.run(
            args,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=CHILD_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        log.debug("bytecode child did not run: %s", type(exc).__name__)
        return None


def _child_failed(done: subprocess.CompletedProcess[bytes]) -> None:
    why = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["?"]
    log.debug("bytecode child failed (exit %s): %s", done.returncode, why[0])


def _compile_to_files(pending: list[tuple[Path, Path, os.stat_result]]) -> bool:
    key = tuple(sorted((str(s), st.st_mtime_ns, st.st_size) for s, _, st in pending))
    if _failed_before(key):
        return False
    args = [sys.executable, "-I", "-S", "-c", _CHILD, str(sys.flags.optimize)]
    for source, cfile, _ in pending:
        args += [str(source), str(cfile)]
    done = _run_child(args)
    ok = done is not None and done.returncode == 0
    if done is not None and not ok:
        _child_failed(done)
    if not ok:
        _remember_failure(key)
    return ok


def _key(path: str | os.PathLike[str]) -> str:
    return os.path.normcase(os.path.abspath(os.fspath(path)))


def _compile_to_memory(sources: list[Path]) -> bool:
    """Have a child compile ``sources`` and keep their code here (nothing is written)."""
    pending: list[tuple[Path, bytes, os.stat_result]] = []
    for source in sources:
        try:
            data, stat = source.read_bytes(), source.stat()
        except OSError:
            continue
        with _MEMORY_LOCK:
            kept = _MEMORY.get(_key(source))
        if kept is None or kept[0] != importlib.util.source_hash(data):
            pending.append((source, data, stat))
    if not pending:
        return True
    key = (("memory", 0, 0), *sorted((str(s), st.st_mtime_ns, st.st_size) for s, _, st in pending))
    if _failed_before(key) or not _install_loader():
        return False
    args = [sys.executable, "-I", "-S", "-c", _MEMORY_CHILD, str(sys.flags.optimize)]
    done = _run_child(args + [str(source) for source, _, _ in pending])
    if done is None:
        _remember_failure(key)
        return False
    if done.returncode != 0:
        _child_failed(done)
    out, at, kept_all = done.stdout, 0, done.returncode == 0
    for source, _, _ in pending:
        if at + 16 > len(out):
            kept_all = False
            break
        digest, size = out[at : at + 8], int.from_bytes(out[at + 8 : at + 16], "little")
        blob, at = out[at + 16 : at + 16 + size], at + 16 + size
        if size and len(blob) == size:
            _keep(_key(source), digest, blob)
        else:
            kept_all = False
    if not kept_all:
        _remember_failure(key)
    return kept_all


def _keep(key: str, digest: bytes, blob: bytes) -> None:
    with _MEMORY_LOCK:
        _MEMORY.pop(key, None)
        _MEMORY[key] = (digest, blob)
        total = sum(len(kept) for _, kept in _MEMORY.values())
        while total > MEMORY_LIMIT and len(_MEMORY) > 1:
            _, (_, dropped) = _MEMORY.popitem(last=False)
            total -= len(dropped)


def _kept_code(path: str | os.PathLike[str]) -> CodeType | None:
    """The kept code of the script at ``path`` if its source is still what was compiled."""
    key = _key(path)
    with _MEMORY_LOCK:
        kept = _MEMORY.get(key)
    if kept is None:
        return None
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError:
        return None
    if importlib.util.source_hash(data) != kept[0]:
        with _MEMORY_LOCK:
            if _MEMORY.get(key) == kept:
                del _MEMORY[key]
        return None
    try:
        code = marshal.loads(kept[1])
    except (ValueError, EOFError, TypeError):
        return None
    if not isinstance(code, CodeType):
        return None
    import _imp

    fix_filename = getattr(_imp, "_fix_co_filename", None)
    if fix_filename is None:  # a Python without it: Alembic's import gives the right names
        return None
    fix_filename(code, os.fspath(path))  # tracebacks name the script, as after a .pyc import
    return code


def _load_module_py(module_id: str, path: Any) -> ModuleType:
    """Alembic's ``load_module_py``, running kept code for a script compiled to memory."""
    original = _ALEMBIC_LOAD
    assert original is not None
    code = _kept_code(path)
    if code is None:
        return original(module_id, path)
    spec = importlib.util.spec_from_file_location(module_id, path)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    exec(code, module.__dict__)  # what the loader's exec_module does with the code it reads
    return module


def _install_loader() -> bool:
    """Put :func:`_load_module_py` in Alembic's place; False if Alembic's loading changed."""
    global _ALEMBIC_LOAD
    with _MEMORY_LOCK:
        if _ALEMBIC_LOAD is not None:
            return True
        try:
            from alembic.util import pyfiles
        except ImportError:
            return False
        original = getattr(pyfiles, "load_module_py", None)
        if not callable(original) or not callable(getattr(pyfiles, "load_python_file", None)):
            return False
        _ALEMBIC_LOAD = original
        setattr(pyfiles, "load_module_py", _load_module_py)  # noqa: B010
        return True


def _valid(source: Path, cfile: Path, stat: os.stat_result) -> bool:
    """Whether ``cfile`` holds bytecode an import of ``source`` would use, and rightly.

    As Python checks it, and stricter: a hash-based file's hash is checked even when it asks
    not to be, and a timestamp file written within :data:`_RACE_WINDOW` of the source's
    modification time is not trusted (the source may have changed again in that second).
    """
    try:
        with open(cfile, "rb") as file:
            head = file.read(16)
            written = os.fstat(file.fileno()).st_mtime
    except OSError:
        return False
    if len(head) < 16 or head[:4] != importlib.util.MAGIC_NUMBER:
        return False
    flags = int.from_bytes(head[4:8], "little")
    if flags & 0b1:
        try:
            data = source.read_bytes()
        except OSError:
            return False
        return head[8:16] == importlib.util.source_hash(data)
    if flags:
        return False
    mtime = int.from_bytes(head[8:12], "little")
    size = int.from_bytes(head[12:16], "little")
    return (
        mtime == int(stat.st_mtime) & 0xFFFFFFFF
        and size == stat.st_size & 0xFFFFFFFF
        and written - stat.st_mtime >= _RACE_WINDOW
    )


def _writable(folder: Path) -> bool:
    """Whether ``folder`` (or, while it does not exist, its nearest parent) can be written."""
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            return candidate.is_dir() and os.access(candidate, os.W_OK)
    return False


def forget(source: Path) -> None:
    """Remove the bytecode of a script that is removed."""
    with _MEMORY_LOCK:
        _MEMORY.pop(_key(source), None)
    cfile = cache_path(source)
    if cfile is not None:
        with contextlib.suppress(OSError):
            cfile.unlink(missing_ok=True)


def follow_rename(old: Path, new: Path) -> None:
    """Move ``old``'s bytecode to ``new``'s cache path after the script was renamed.

    The bytecode stays valid (hash- or timestamp-checked, and a rename keeps both the
    content and the modification time); the code's file name is set again at each import.
    If the move fails, the old file is removed: never bytecode without its source.
    """
    with _MEMORY_LOCK:
        kept = _MEMORY.pop(_key(old), None)
        if kept is not None:
            _MEMORY[_key(new)] = kept
    before, after = cache_path(old), cache_path(new)
    if before is None or after is None or not before.exists():
        return
    try:
        after.parent.mkdir(parents=True, exist_ok=True)
        os.replace(before, after)
    except OSError:
        forget(old)


def compile_after_write(directory: ScriptDirectory) -> None:
    """Have ``directory`` compile the next script it writes out of process, before importing it.

    Alembic runs a :class:`ScriptDirectory`'s post-write hooks between writing a script and
    importing it. Alembic prints a line for each hook it runs ("Running post write hook
    ..."), so the engine adds ours only to the directory of a ``make`` whose script will be
    large (``maker._estimated_size``), never to every configuration.
    """
    if worth_it() and not any(hook.get("type") == HOOK for hook in directory.hooks):
        directory.hooks = [*directory.hooks, {"_hook_name": HOOK, "type": HOOK}]


@write_hooks.register(HOOK)
def _after_write(path: str, options: Mapping[str, Any]) -> None:
    """Alembic's post-write hook: compile the script it has just written, before it imports it."""
    try:
        compile_out_of_process([Path(path)])
    except Exception as exc:  # a hook error would fail the make: never
        log.debug("bytecode hook: %s", type(exc).__name__)
