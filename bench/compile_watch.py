"""Which parse/compile calls ran while the loop was measured, and for how long.

``compile()`` (and ``ast.parse``, which calls it) is one C call that holds the GIL for its
whole length: the interpreter cannot hand the GIL to the bot's loop in the middle, however
short the switch interval. Importing a script compiles it unless a valid ``.pyc`` exists.
For a 300-table migration script (110 KB) one such call takes 10-20 ms on an idle core,
which is the floor of the loop's lag while a worker thread runs it. The watch wraps the
builtin for the length of a measurement and keeps the calls over ``threshold``.
"""

from __future__ import annotations

import builtins
import threading
import time
import traceback
from types import TracebackType
from typing import Any

from .common import Json, ms


class CompileWatch:
    """Records every ``compile()`` call over ``threshold`` seconds: when, how long, where."""

    def __init__(self, threshold: float = 0.005) -> None:
        self.threshold = threshold
        self.calls: list[tuple[float, float, str]] = []  # (end time, seconds, caller)
        self._original = builtins.compile

    def _compile(self, *args: Any, **kwargs: Any) -> Any:
        start = time.monotonic()
        try:
            return self._original(*args, **kwargs)
        finally:
            end = time.monotonic()
            if end - start >= self.threshold:
                self.calls.append((end, end - start, _caller(threading.current_thread().name)))

    def __enter__(self) -> CompileWatch:
        builtins.compile = self._compile
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        builtins.compile = self._original

    def summary(self, start: float, end: float) -> Json:
        inside = [(took, where) for at, took, where in self.calls if start <= at <= end]
        longest = max(inside, default=(0.0, ""))
        return {
            "long_compiles": len(inside),
            "long_compiles_ms": ms(sum(took for took, _ in inside)),
            "longest_compile_ms": ms(longest[0]),
            "longest_compile_in": longest[1],
        }


def _caller(thread: str) -> str:
    """The first frame outside importlib and this module: who asked for the compile."""
    for frame in reversed(traceback.extract_stack()[:-3]):
        if "importlib" not in frame.filename and "<frozen" not in frame.filename:
            name = frame.filename.replace("\\", "/").rsplit("/", 1)[-1]
            return f"{name}:{frame.name} ({thread})"
    return thread
