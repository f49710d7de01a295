# Two commands for a fresh machine (see README): `make run` and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
PG_URL  ?= postgresql://postgres@127.0.0.1:5432/test
export FLASK_APP := app.py

.PHONY: setup run test test-pg e2e bench lint translations clean-db

setup: $(VENV)/.installed static/vendor/.copied translations

$(VENV)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

static/vendor/.copied: node_modules/.installed trading/vendor.py $(VENV)/.installed
	$(BIN)/python -m trading.vendor
	touch $@

translations: $(VENV)/.installed
	$(BIN)/pybabel -q compile -d trading/translations

## make run: install everything, build the schema, fill the demo county once, serve on :5000
run: setup
	$(BIN)/flask db upgrade
	$(BIN)/flask demo --if-empty
	$(BIN)/flask run --host 127.0.0.1 --port 5000

## make test: install everything and run the suite on SQLite (browser tests: make e2e)
test: setup
	$(BIN)/python -m pytest -m "not e2e"

test-pg: setup
	TEST_DATABASE_URL=$(PG_URL) $(BIN)/python -m pytest -m "not e2e"

e2e: setup
	$(BIN)/python -m pytest -m e2e tests/e2e

bench: setup
	$(BIN)/python -m bench

lint: setup
	$(BIN)/ruff check .
