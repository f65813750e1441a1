# Two commands on a fresh machine (Python 3.11+, make; see README.md):
#   make demo   install, then run Trygt Hjem on SQLite with console channels and the web UI
#   make test   install, then lint and run the full test suite. Beyond Python it needs node and
#               npm (for the Prism and telegram-test-api emulators) and Chromium: when missing,
#               scripts/ensure-test-deps installs them with apt-get (root or passwordless sudo),
#               or says what to install by hand
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/trygthjem demo

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

test: $(STAMP)
	scripts/ensure-test-deps
	$(MAKE) lint
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) .emulators .pytest_cache trygthjem-demo.sqlite3*
