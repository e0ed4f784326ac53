"""Two cogs with models: ``economy`` (members and their coins) and ``moderation`` (warnings)."""
