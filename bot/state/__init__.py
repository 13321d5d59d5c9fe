"""Where the bot keeps its state: the store interface, SQLite and Redis."""
