"""Running a real nextcord client against a local Discord, and stopping it without leaks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, TypeVar

import nextcord
from nextcord.http import Route

if TYPE_CHECKING:
    from .server import LocalDiscord

__all__ = ["ClientT", "run_bot"]

_log = logging.getLogger(__name__)

ClientT = TypeVar("ClientT", bound=nextcord.Client)

#: nextcord schedules these events as tasks named ``nextcord: <event>``; the default
#: handlers sync application commands (global on connect, per guild when it is available).
_SYNC_EVENTS = ("nextcord: on_connect", "nextcord: on_guild_available")

_active: list[str] = []


def _sync_tasks() -> set[asyncio.Task[object]]:
    current = asyncio.current_task()
    return {
        task
        for task in asyncio.all_tasks()
        if task is not current and not task.done() and task.get_name() in _SYNC_EVENTS
    }


async def _wait_ready(bot: nextcord.Client, task: asyncio.Task[None], timeout: float) -> None:
    ready = asyncio.ensure_future(bot.wait_until_ready())
    try:
        done, _ = await asyncio.wait(
            {ready, task}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        if not ready.done():
            ready.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ready
    if task in done:
        error = task.exception()
        if error is not None:
            raise error
        raise RuntimeError("the bot stopped before it was ready")
    if ready not in done:
        raise TimeoutError(f"the bot was not ready within {timeout} s")


async def _wait_synced(discord: LocalDiscord, timeout: float) -> None:
    pending = _sync_tasks()
    if pending:
        _, still = await asyncio.wait(pending, timeout=timeout)
        if still:
            raise TimeoutError(f"application command sync did not finish within {timeout} s")
    await discord._flush()


async def _stop(bot: nextcord.Client, task: asyncio.Task[None], timeout: float) -> None:
    try:
        if not bot.is_closed():
            await asyncio.wait_for(bot.close(), timeout)
    finally:
        if not task.done():
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout)
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            except Exception:
                _log.debug("the bot's start() ended with an error", exc_info=True)


@contextlib.asynccontextmanager
async def run_bot(
    discord: LocalDiscord,
    bot: ClientT,
    *,
    token: str | None = None,
    timeout: float = 15.0,
    wait_for_commands: bool = True,
) -> AsyncIterator[ClientT]:
    """Start ``bot`` against ``discord`` and stop it on exit.

    Points ``nextcord.http.Route.BASE`` at the local server, runs ``bot.start(token)`` (so
    a subclass's own ``start``/``login``/``connect``, such as ``nextcord_ormar.Bot`` opening its
    database, run as usual) as a task, and waits until the bot is ready and its initial
    application-command sync finished. On exit it calls ``bot.close()``, awaits the task and
    restores ``Route.BASE``. An error the bot's start raised before ready is re-raised here.

    Tip: nextcord waits ``guild_ready_timeout`` (2 s by default) after the last guild before
    it is ready; pass ``guild_ready_timeout=0.05`` (or so) to the client in tests.
    """
    if not discord.running:
        raise RuntimeError("start the LocalDiscord first (async with LocalDiscord() as discord)")
    if _active and _active[-1] != discord.api_url:
        raise RuntimeError("another LocalDiscord is serving a bot; run one at a time")
    previous = Route.BASE
    Route.BASE = discord.api_url
    _active.append(discord.api_url)
    task: asyncio.Task[None] = asyncio.create_task(
        bot.start(token if token is not None else discord.token),
        name="local-discord: bot.start",
    )
    try:
        await _wait_ready(bot, task, timeout)
        if wait_for_commands:
            await _wait_synced(discord, timeout)
        yield bot
    finally:
        try:
            await _stop(bot, task, timeout)
        finally:
            _active.pop()
            Route.BASE = previous
