"""Mehfooz: a privacy-help bot for Pakistan."""
