"""The channel-agnostic core and the flows it runs: one message in, replies out."""
