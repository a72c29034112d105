# gridflow: `make run` starts the product with demo data on SQLite; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DB ?= sqlite:///gridflow.db
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
DEMO_INSTANCES ?= 200
DEMO_SEED ?= 1

.PHONY: setup translations run test lint demo clean

setup: $(STAMP) translations

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

# The compiled catalogues (*.mo) are build output, rebuilt from the .po files on every setup.
translations: $(STAMP)
	$(BIN)/pybabel -q compile -d src/gridflow/translations

# Start with demo data: a fresh SQLite database, the processes deployed, demands simulated
# through the real engine, then the per-link summary (until the web UI lands).
run: setup
	rm -f gridflow.db gridflow.db-wal gridflow.db-shm
	$(BIN)/gridflow init-db --database $(DB)
	$(BIN)/gridflow lint processes/
	$(BIN)/gridflow demo --database $(DB) --instances $(DEMO_INSTANCES) --seed $(DEMO_SEED)
	$(BIN)/gridflow stats --database $(DB)
	$(BIN)/gridflow summary --database $(DB)

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src
	$(BIN)/gridflow lint processes/

# Every test, on SQLite and (when the server answers) on PostgreSQL.
test: lint
	@if [ -z "$$GRIDFLOW_TEST_POSTGRES_URL" ] && command -v pg_isready >/dev/null \
	    && pg_isready -q -h 127.0.0.1 -p 5432; then \
	  export GRIDFLOW_TEST_POSTGRES_URL="$(PG_TEST_URL)"; \
	fi; \
	$(BIN)/pytest -q

clean:
	rm -rf $(VENV) gridflow.db gridflow.db-wal gridflow.db-shm .pytest_cache .mypy_cache .ruff_cache
