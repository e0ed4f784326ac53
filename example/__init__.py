"""The example bot's cogs (see ``example_bot.py`` at the repository root)."""
