"""Local stand-ins for the outside services (Telegram Bot API, HIBP), and a helper to run the
service under uvicorn: used by the tests and the benchmarks, importable by other code."""
