"""The suite's password scan: everything printed, sent or logged is searched for :data:`SECRET`.

Every test database URL carries :data:`SECRET` as its password (PostgreSQL trusts local
connections and ignores it; MariaDB gets a user with that password) or, on SQLite, which
has no password, in its query string (SQLAlchemy ignores the unknown argument), so a full
URL leaking into any output shows up here on every backend.

What is searched: what ``nxalembic`` printed (tests/cli/project.py), every reply, message
and file the bot sent to the local Discord (tests/discord_harness.py), and every log record
of the test process (:class:`Recorder`, installed for the session by conftest.py). Each
test's texts are searched when it ends and a leak fails that test (so it works the same
under ``pytest -n``, where each worker checks its own tests); texts recorded between tests
(module fixtures) are searched by the next test or at the end of the session.
"""

from __future__ import annotations

import logging
import traceback

SECRET = "nxo-test-s3cret"

_seen: list[tuple[str, str]] = []
_total = 0


def saw(where: str, *texts: str) -> None:
    """Record ``texts`` (output, messages or log lines) produced by ``where``."""
    global _total
    for text in texts:
        if text:
            _seen.append((where, text))
            _total += 1


def scanned() -> int:
    """How many texts were recorded (and searched) in this process."""
    return _total


def unchecked_leaks() -> list[str]:
    """Where the secret was seen since the last call, each with the line that carried it
    (the secret shown as ``<SECRET>``); the texts are then forgotten."""
    found: dict[str, str] = {}
    for where, text in _seen:
        if SECRET in text and where not in found:
            line = next(line for line in text.splitlines() if SECRET in line)
            found[where] = f"{where} ({line.strip()[:300].replace(SECRET, '<SECRET>')!r})"
    _seen.clear()
    return sorted(found.values())


class Recorder(logging.Handler):
    """A logging handler recording every record it is handed (message and traceback)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a malformed record still gets searched by its parts
            text = f"{record.msg} {record.args}"
        if record.exc_info and record.exc_info[1] is not None:
            text += "\n" + "".join(traceback.format_exception(record.exc_info[1]))
        saw(f"log record of {record.name}", text)


def install_recorder() -> Recorder:
    """Record every log record of ``nextcord_ormar.*`` (all levels) and of the root logger.

    ``nextcord_ormar``'s level is set to DEBUG so its info and debug records are made at all;
    they propagate to the root logger, where the recorder sits.
    """
    recorder = Recorder()
    logging.getLogger("nextcord_ormar").setLevel(logging.DEBUG)
    logging.getLogger().addHandler(recorder)
    return recorder
