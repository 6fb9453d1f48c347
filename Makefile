# Diversity To Win. The two quick-start commands are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := d2w:create_app
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test test-sqlite test-postgres setup setup-dev lint format migrate demo clean bench

## run: set up, migrate the SQLite database under instance/, load the real seat data and the demo, serve http://127.0.0.1:5000
run: setup
	$(BIN)/flask db upgrade
	@if [ -f "$${D2W_SEAT_DATA_DIR:-../shared/data/seats}/constituencies_2010.csv" ]; then \
		$(BIN)/flask d2w seats import; \
	else \
		echo "No seat data at $${D2W_SEAT_DATA_DIR:-../shared/data/seats}: skipping the seat import."; \
	fi
	$(BIN)/flask d2w demo
	@echo "d2w is running at http://$(HOST):$(PORT)/ (Ctrl-C to stop)"
	$(BIN)/flask run --host $(HOST) --port $(PORT)

## test: set up (with Chromium) and run the whole suite on SQLite and, side by side, on PostgreSQL if D2W_TEST_DATABASE_URL is set
test: setup-dev
	scripts/test.sh

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || { scripts/system-deps.sh run && rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); }
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.runtime: $(BIN)/python pyproject.toml constraints.txt
	scripts/system-deps.sh run
	$(BIN)/pip install -q -c constraints.txt -e .
	touch $@

$(VENV)/.dev: $(VENV)/.runtime
	scripts/system-deps.sh test
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	touch $@

setup: $(VENV)/.runtime
setup-dev: $(VENV)/.dev

lint: setup-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## migrate: write a new migration from the models (review it before committing)
migrate: setup
	$(BIN)/flask db migrate -m "$(m)"

## bench: build a large synthetic programme and load-test every page with gunicorn and wrk, on SQLite
## (or on PostgreSQL: D2W_BENCH_DATABASE_URL=postgresql+psycopg://...; its public schema is dropped).
## Options go in BENCH_ARGS, e.g. make bench BENCH_ARGS="--duration 10 --only 'candidate'"
bench: setup
	scripts/system-deps.sh bench
	$(BIN)/python scripts/bench.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache build *.egg-info
