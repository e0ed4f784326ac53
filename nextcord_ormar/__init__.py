"""nextcord-ormar."""
