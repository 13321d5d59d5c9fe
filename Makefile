# One command to chat, one to test: each builds the virtual environment it needs first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: chat test lint check eval bench serve

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

chat: $(VENV)/.installed  ## talk to the bot in the terminal (SQLite under var/, no tokens)
	$(PY) -m bot chat

test: $(VENV)/.installed  ## lint, content check and the whole test suite
	$(PY) -m ruff check bot tests bench
	$(PY) -m bot intents check
	$(PY) -m pytest -q

check: $(VENV)/.installed
	$(PY) -m bot intents check

eval: $(VENV)/.installed  ## accuracy on the shared evaluation set
	$(PY) -m bot intents eval ../shared/eval/dev.csv

bench: $(VENV)/.installed
	$(PY) bench/bench_match.py
