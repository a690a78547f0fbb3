# coursebot: `make run` starts the app, `make test` runs every test. Both set up what they need.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install sysdeps run test lint bench lock clean

$(STAMP): requirements.txt requirements-minilm.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements-dev.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $(STAMP)

sysdeps:
	@bash scripts/sysdeps.sh

install: sysdeps $(STAMP)

run: install
	$(PY) -m ui.serve

test: lint
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check kb ingest verifiers ui tests bench scripts app.py
	$(VENV)/bin/mypy --strict kb ingest verifiers ui

bench: install
	$(PY) bench/verify.py
	$(PY) bench/retrieval.py --synthetic 0
	$(PY) bench/answer.py
	$(PY) bench/startup.py
	$(PY) bench/growth.py
	$(PY) bench/footprint.py
	$(PY) bench/loadtest.py

# Regenerate the pinned requirements*.txt from pyproject.toml (after changing a dependency there).
lock: install
	$(PY) scripts/lock.py

clean:
	rm -rf var .pytest_cache .ruff_cache .mypy_cache
