"""Running the service: the admin page, stats, misses, metrics, logs and hot reload."""
