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
cannot run or cannot write (read-only folder, syntax error, ...), Alembic's import compiles
in-process as before, with its own error for a broken script.

With ``sys.dont_write_bytecode`` (``PYTHONDONTWRITEBYTECODE``) nothing is written: Alembic's
loader reads bytecode only at the cache path, so there is no private place to put it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory, write_hooks

__all__ = [
    "HOOK",
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

#: A timestamp ``.pyc`` written less than this long after its source's modification time
#: may predate a second edit within the same second: it is replaced by a hash-based one.
_RACE_WINDOW = 2.0

_Key = tuple[tuple[str, int, int], ...]
#: Sets of scripts a child failed to compile, as they were: not tried again until changed.
_FAILED: set[_Key] = set()
_FAILED_LOCK = threading.Lock()


def enabled() -> bool:
    """Whether bytecode may be written for scripts (not with ``PYTHONDONTWRITEBYTECODE``)."""
    if sys.dont_write_bytecode or not sys.executable:
        return False
    if sys.implementation.cache_tag is None:
        return False
    # ``--check-hash-based-pycs never``: hash-based bytecode would not be checked
    import _imp

    return getattr(_imp, "check_hash_based_pycs", "default") != "never"


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
    return enabled() and threading.current_thread() is not threading.main_thread()


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

    Returns whether every such script now has valid bytecode (``True`` when none needed
    it). Never raises: on any failure Alembic's import compiles in-process, as it would.
    """
    if not enabled():
        return False
    pending: list[tuple[Path, Path, os.stat_result]] = []
    for source in sources:
        try:
            stat = source.stat()
        except OSError:
            continue
        if stat.st_size < THRESHOLD:
            continue
        cfile = cache_path(source)
        if cfile is not None and not _valid(source, cfile, stat):
            pending.append((source, cfile, stat))
    if not pending:
        return True
    key = tuple(sorted((str(s), st.st_mtime_ns, st.st_size) for s, _, st in pending))
    with _FAILED_LOCK:
        if key in _FAILED:
            return False
    if not all(_writable(cfile.parent) for _, cfile, _ in pending):
        log.debug("bytecode of %d script(s) not written: folder not writable", len(pending))
        return False
    args = [sys.executable, "-I", "-S", "-c", _CHILD, str(sys.flags.optimize)]
    for source, cfile, _ in pending:
        args += [str(source), str(cfile)]
    try:
        done = subprocess.run(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=CHILD_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        log.debug("bytecode child did not run: %s", type(exc).__name__)
        ok = False
    else:
        ok = done.returncode == 0
        if not ok:
            why = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["?"]
            log.debug("bytecode child failed (exit %s): %s", done.returncode, why[0])
    if not ok:
        with _FAILED_LOCK:
            _FAILED.add(key)
    return ok


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
            return os.access(candidate, os.W_OK)
    return False


def forget(source: Path) -> None:
    """Remove the bytecode of a script that is removed."""
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
