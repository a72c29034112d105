# gridflow: `make run` starts the product with demo data on SQLite; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DB ?= sqlite:///gridflow.db
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
DEMO_INSTANCES ?= 150
DEMO_SEED ?= 1
HOST ?= 127.0.0.1
PORT ?= 5000
WEB_STAMP := web/node_modules/.installed

.PHONY: setup translations run test lint demo clean cluster

setup: $(STAMP) translations $(WEB_STAMP)

# Browser libraries come from the npm registry at setup, never from the repository.
$(WEB_STAMP): web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	touch $(WEB_STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

# The compiled catalogues (*.mo) are build output, rebuilt from the .po files on every setup.
translations: $(STAMP)
	$(BIN)/pybabel -q compile -d src/gridflow/translations

# Start with demo data: a fresh SQLite database, the processes deployed, demands of the last
# three weeks simulated through the real engine up to now (work in flight stays open), demo
# accounts, the per-link summary, then the web application with the demo's stand-in marketing,
# metering and finance systems serving its external tasks beside it (gridflow demo-worker).
run: setup
	rm -f gridflow.db gridflow.db-wal gridflow.db-shm
	$(BIN)/gridflow init-db --database $(DB)
	$(BIN)/gridflow lint processes/
	$(BIN)/gridflow demo --database $(DB) --instances $(DEMO_INSTANCES) --seed $(DEMO_SEED) \
	  --weeks 3 --leave-open --accounts
	$(BIN)/gridflow summary --database $(DB)
	$(BIN)/gridflow demo-worker --url http://$(HOST):$(PORT) & \
	  $(BIN)/gridflow serve --database $(DB) --host $(HOST) --port $(PORT)

# Two app hosts (gunicorn) and two workers on a fresh PostgreSQL database of the local server
# (gridflow_cluster), Debian's nginx in front when installed: prints where each one is, runs until
# Ctrl+C (bench/cluster.py; the README's production section).
cluster: setup
	$(BIN)/python bench/cluster.py

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src
	$(BIN)/gridflow lint processes/
	web/node_modules/.bin/bpmnlint processes/*.bpmn

# Every test, on SQLite and (when the server answers) on PostgreSQL, on TEST_WORKERS processes
# (pytest-xdist; a file's tests stay on one process, each process has its own PostgreSQL
# database). TEST_WORKERS=0 runs them in this one process.
TEST_WORKERS ?= 2
test: lint
	@if [ -z "$$GRIDFLOW_TEST_POSTGRES_URL" ] && command -v pg_isready >/dev/null \
	    && pg_isready -q -h 127.0.0.1 -p 5432; then \
	  export GRIDFLOW_TEST_POSTGRES_URL="$(PG_TEST_URL)"; \
	fi; \
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile

clean:
	rm -rf $(VENV) web/node_modules gridflow.db gridflow.db-wal gridflow.db-shm .pytest_cache \
	  .mypy_cache .ruff_cache
