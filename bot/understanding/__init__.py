"""Understanding a message: normalising, matching intents, finding secrets, judging scams."""
