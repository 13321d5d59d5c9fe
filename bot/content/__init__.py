"""The bot's content as data: loading intents and facts, checking them, measuring accuracy."""
