# Two commands do everything on a fresh machine:
#   make run   - install, start the embedded PostgreSQL, run the nightly job once, print a summary
#   make test  - the linters and the whole test suite
# Dependencies come from uv.lock (Python 3.11, 3.12 and 3.13), installed by uv; uv itself is fetched
# from PyPI by scripts/bootstrap.py, which also picks the interpreter (make run PYTHON=python3.12).
BOOT   := python3 scripts/bootstrap.py $(if $(PYTHON),--python $(PYTHON))
VENV   := .venv
BIN    := $(VENV)/bin
UV     := .tools/bin/uv

.PHONY: run test lint bench airflow console install install-dev lock clean db-stop

install:
	@$(BOOT)

install-dev:
	@$(BOOT) --dev

run: install
	@$(BIN)/cchc run

# ruff (Python) and sqlfluff (the dbt models' SQL); their rules are in pyproject.toml and .sqlfluff.
LINT = $(BIN)/ruff check . && $(BIN)/sqlfluff lint dbt_project/models dbt_project/macros --processes 1

# Two pytest workers (pytest-xdist): the end-to-end tests wait on PostgreSQL, dbt and subprocesses as much
# as they compute, so two share 2 cores well (≈21 min instead of ≈30). worksteal keeps the tail short.
# PYTEST_WORKERS= (empty) runs serially.
PYTEST_WORKERS ?= -n 2 --dist worksteal

test: install-dev
	@bash scripts/ensure-system-deps.sh
	$(LINT)
	$(BIN)/python -m pytest $(PYTEST_WORKERS)

lint: install-dev
	$(LINT)

# The benchmark also times the console in Chromium (playwright, from the dev group) and runs Celery
# workers on Redis: the same system packages as the tests.
bench:
	@$(BOOT) --dev --group bench
	@bash scripts/ensure-system-deps.sh
	$(BIN)/cchc bench

# Airflow UI on http://localhost:8080 with the project's DAG (local use: no login).
airflow: install
	$(BIN)/cchc airflow standalone

# The data team's console on http://localhost:8765 (this machine only, no login).
console: install
	$(BIN)/cchc console

db-stop: install
	$(BIN)/cchc db stop

# Re-resolve uv.lock after editing pyproject.toml (for 3.11-3.13 at once); `uv lock --upgrade` moves pins.
lock:
	@$(BOOT) --uv-only
	$(UV) lock

clean:
	-$(BIN)/cchc db stop
	rm -rf .cchc dbt_project/target dbt_project/logs .tools
