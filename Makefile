# One command to chat, one to test: each builds the virtual environment it needs first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: chat test lint check eval bench serve

# The first run builds the environment quietly: pip's output goes to a log that is shown only
# if the install fails, so a newcomer sees the greeting, not a page of build notices.
$(VENV)/.installed: pyproject.toml setup.py
	@echo "Setting up $(VENV) (first run only, about a minute)..."
	@$(PYTHON) -m venv $(VENV)
	@{ $(PY) -m pip install --upgrade pip && $(PY) -m pip install -e '.[test]'; } > $(VENV)/install.log 2>&1 \
		|| { cat $(VENV)/install.log; echo "install failed: see above ($(VENV)/install.log)"; exit 1; }
	@touch $@

chat: $(VENV)/.installed  ## talk to the bot in the terminal (SQLite under var/, no tokens)
	@$(PY) -m bot chat

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
