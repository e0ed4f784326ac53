"""``nxalembic``: make and apply per-cog migrations of a nextcord-ormar bot from the terminal.

A thin face over :class:`nextcord_ormar.migrations.MigrationEngine`: it finds the bot
through ``nxalembic.ini``, calls the engine and prints the results. Run it as
``nxalembic`` or ``python -m nextcord_ormar.nxalembic``; :func:`main` runs it in-process.
"""

from __future__ import annotations

from .cli import main

__all__ = ["main"]
