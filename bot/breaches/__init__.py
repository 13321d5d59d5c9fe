"""Breach lookups: the imported index, Have I Been Pwned, and their command line."""
