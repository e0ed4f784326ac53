"""A real nextcord_ormar.Bot with cogs and the admin cog, against the local Discord, plus probes."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import sys
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nextcord

from nextcord_ormar import Bot
from nextcord_ormar.migrations import MigrationEngine
from nextcord_ormar.testing import InteractionHandle, LocalDiscord, Reply

from .common import Json, ms, percentile

#: Texts that end a /migrate reply badly.
FAILURES = ("failed", "Something went wrong")


class LagProbe:
    """A task that sleeps ``interval`` in a loop and records how late it wakes up.

    A wake-up later than asked means something held the event loop for that long: the
    same delay every other task (the gateway heartbeat, interaction handling) suffers.
    Each sample also keeps the CPU time the whole process used meanwhile (all threads) and
    how long the loop's thread sat runnable without a CPU (the kernel's run-queue wait). A
    late wake-up with the process busy for most of it is work of ours holding the loop (or
    the GIL); one with the process mostly not running is the machine's other load (a worker
    descheduled while it holds the GIL stretches a stall of ours the same way).
    """

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        # (wake-up time, overshoot, process CPU seconds, run-queue wait seconds meanwhile)
        self.samples: list[tuple[float, float, float, float]] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            start = loop.time()
            cpu, waited = time.process_time(), _run_queue_wait()
            await asyncio.sleep(self.interval)
            now = loop.time()
            lag = max(0.0, now - start - self.interval)
            used = time.process_time() - cpu
            self.samples.append((time.monotonic(), lag, used, _run_queue_wait() - waited))

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="bench: lag probe")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def between(self, start: float, end: float) -> list[float]:
        return [lag for at, lag, _, _ in self.samples if start <= at <= end]

    def summary(self, start: float, end: float) -> Json:
        inside = [s for s in self.samples if start <= s[0] <= end]
        lags = [lag for _, lag, _, _ in inside]
        worst = max(inside, key=lambda s: s[1], default=(0.0, 0.0, 0.0, 0.0))
        return {
            "max_lag_ms": ms(worst[1]),
            "p99_lag_ms": ms(percentile(lags, 99)),
            "samples": len(lags),
            # the worst wake-up: CPU the process used meanwhile, and how long the loop's
            # thread waited for a CPU
            "max_lag_cpu_ms": ms(worst[2]),
            "max_lag_cpu_wait_ms": ms(worst[3]),
            **_stall_causes(inside, self.interval),
        }


def _stall_causes(samples: list[tuple[float, float, float, float]], interval: float) -> Json:
    """Wake-ups over 10 ms late: ``busy`` when the process used CPU for half the window or
    more (our threads: the loop itself, or a worker holding the GIL), ``starved`` when it
    ran less than that (the machine's other load kept it off the CPUs); and the largest
    lag of a busy wake-up, whatever its size (our share of the tail on a loaded machine)."""
    busy_all = [s for s in samples if s[2] >= (s[1] + interval) / 2]
    stalls = [s for s in samples if s[1] > 0.010]
    busy = [s for s in stalls if s[2] >= (s[1] + interval) / 2]
    return {
        "max_busy_lag_ms": ms(max((s[1] for s in busy_all), default=0.0)),
        "lags_over_10ms": len(stalls),
        "lags_over_10ms_busy": len(busy),
        "lags_over_10ms_starved": len(stalls) - len(busy),
    }


def _run_queue_wait() -> float:
    """Seconds this thread has spent runnable but not running (Linux schedstat; else 0)."""
    try:
        with open(f"/proc/self/task/{threading.get_native_id()}/schedstat") as stats:
            return int(stats.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


class GcWatch:
    """Records every garbage collection's duration and thread: a collection holds the GIL,
    so a long one in a worker thread stalls the event loop just the same."""

    def __init__(self) -> None:
        self.pauses: list[tuple[float, float, str]] = []  # (end time, seconds, thread name)
        self._started = 0.0

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        now = time.monotonic()
        if phase == "start":
            self._started = now
        else:
            self.pauses.append((now, now - self._started, threading.current_thread().name))

    def __enter__(self) -> GcWatch:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)

    def summary(self, start: float, end: float) -> Json:
        inside = [(took, name) for at, took, name in self.pauses if start <= at <= end]
        longest = max(inside, default=(0.0, ""))
        return {
            "max_gc_pause_ms": ms(longest[0]),
            "max_gc_pause_thread": longest[1],
            "gc_runs": len(inside),
        }


def heartbeat_gap(heartbeats: list[float], start: float, end: float) -> float:
    """The largest gap between consecutive heartbeats that overlaps ``[start, end]``."""
    gaps = [
        later - earlier
        for earlier, later in itertools.pairwise(heartbeats)
        if later >= start and earlier <= end
    ]
    return max(gaps, default=0.0)


@dataclass
class BotScene:
    discord: LocalDiscord
    bot: Bot
    guild: Any
    channel: Any
    owner: Any
    probe: LagProbe
    gc_watch: GcWatch
    handles: list[InteractionHandle] = field(default_factory=list)

    @property
    def cog(self) -> Any:
        return self.bot.get_cog("Migrations")

    def use_loop_engine(self) -> None:
        """Run Alembic through ``run_sync`` on the bot's own loop, as the original library did."""
        self.cog.engine = MigrationEngine.for_bot(self.bot, in_thread=False)

    async def slash(self, command: str, options: dict[str, Any] | None = None) -> InteractionHandle:
        handle = await self.discord.slash(self.owner, self.channel, command, options or {})
        self.handles.append(handle)
        return handle

    def heartbeat_gap(self, start: float, end: float) -> float:
        return heartbeat_gap(self.discord.gateway.heartbeats, start, end)


def ack_seconds(handle: InteractionHandle) -> float | None:
    """From the interaction sent to the bot to its first accepted response."""
    initial = handle.initial
    return None if initial is None else initial.at - handle.created_at


def _texts(handle: InteractionHandle) -> list[str]:
    return [reply.text for reply in handle.replies]


async def wait_final(handle: InteractionHandle, timeout: float) -> Reply:
    """The reply completing the command (first edit after the defer, or a direct message)."""
    await handle.wait_for(lambda h: h.final is not None, timeout=timeout)
    final = handle.final
    assert final is not None
    return final


async def wait_text(handle: InteractionHandle, text: str, timeout: float) -> Reply:
    """The first reply holding ``text``; raises if a failure shows up first."""

    def found() -> Reply | None:
        for reply in handle.replies:
            body = reply.text
            if text in body:
                return reply
            if reply.kind != "deferred" and any(f in body for f in FAILURES):
                raise RuntimeError(f"/{handle.name} failed: {body[:500]}")
        return None

    await handle.wait_for(lambda h: found() is not None, timeout=timeout)
    reply = found()
    assert reply is not None
    return reply


def check_ok(handle: InteractionHandle, reply: Reply) -> None:
    body = reply.text
    if any(f in body for f in FAILURES):
        raise RuntimeError(f"/{handle.name} failed: {body[:500]}")


@contextlib.asynccontextmanager
async def running_bot(
    url: str,
    project: Path,
    extensions: list[str],
    *,
    heartbeat_interval: float,
    probe_interval: float,
) -> AsyncIterator[BotScene]:
    """Start the local Discord and a real bot with ``extensions`` and the admin cog."""
    if str(project) not in sys.path:
        sys.path.insert(0, str(project))
    async with LocalDiscord(heartbeat_interval=heartbeat_interval) as discord:
        owner = discord.create_user("owner")
        guild = discord.create_guild("Bench HQ", owner=owner, channels=["general"])
        discord.set_owner(owner)
        bot = Bot(database_url=url, intents=nextcord.Intents.default(), guild_ready_timeout=0.05)
        for extension in extensions:
            bot.load_extension(extension)
        bot.load_extension("nextcord_ormar.admin_cog", extras={"guild_ids": [guild.id]})
        probe = LagProbe(probe_interval)
        async with discord.run_bot(bot, timeout=120.0):
            probe.start()
            try:
                with GcWatch() as watch:
                    channel = guild.channel("general")
                    yield BotScene(discord, bot, guild, channel, owner, probe, watch)
            finally:
                await probe.stop()
