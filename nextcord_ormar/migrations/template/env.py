"""Alembic environment for one nextcord-ormar app.

Alembic runs this file for every command. All settings (the app, its tables, the
connection, the version table) come from the engine in ``nextcord_ormar.migrations``;
there is nothing to edit here.
"""

from alembic import context

from nextcord_ormar.migrations.environment import run_environment

run_environment(context)
