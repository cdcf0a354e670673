# Two commands do everything on a fresh machine:
#   make run   - install, start the embedded PostgreSQL, run the nightly job once, print a summary
#   make test  - the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test bench airflow console install lock clean db-stop

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/cchc run

# System packages the tests need (a browser for the console tests) come first.
test: $(STAMP)
	bash scripts/ensure-system-deps.sh
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/cchc bench

# Airflow UI on http://localhost:8080 with the project's DAG (local use: no login).
airflow: $(STAMP)
	$(BIN)/cchc airflow standalone

# The data team's console on http://localhost:8765 (this machine only, no login).
console: $(STAMP)
	$(BIN)/cchc console

db-stop: $(STAMP)
	$(BIN)/cchc db stop

# Re-pin every dependency after editing pyproject.toml.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet -e '.[dev]'
	{ echo "# Exact versions of every dependency (pip freeze of a working environment)."; \
	  echo "# Regenerate with 'make lock' after changing pyproject.toml."; \
	  .lock-venv/bin/pip freeze --exclude-editable | grep -v -i '^cchc-warehouse'; } > requirements.lock
	rm -rf .lock-venv

clean:
	-$(BIN)/cchc db stop
	rm -rf .cchc dbt_project/target dbt_project/logs
