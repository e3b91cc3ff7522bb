# The two commands: `make up` (run the system) and `make test` (run the tests).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PROFILE ?= development
SIZE ?= default

.PHONY: install browser up demo demo-month test test-fast bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## Start the Prefect server, a worker and the local mail server; register the deployments.
## PROFILE=production: Prefect and the cases on PostgreSQL, API auth, data key, STARTTLS, two workers.
up: install
	$(BIN)/python -m cli.stack up --profile $(PROFILE)

## One referral through every step, people simulated by `cig` commands.
demo: install
	$(BIN)/python -m cli.stack demo

## A simulated month of deadline sweeps in a few seconds: each day's reminders, chases and escalations.
demo-month: install
	$(BIN)/python -m cli.demo_month

## Debian's Chromium for the browser tests (Playwright's own browser download cannot run here).
browser:
	@command -v chromium >/dev/null || apt-get install -y -q chromium >/dev/null || \
	  (apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null)

## The whole suite; PostgreSQL too when CIG_TEST_POSTGRES_URL is set (.ci/run sets it).
test: install browser
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

## Benchmarks on SQLite and PostgreSQL; results to docs/performance.md (SIZE=smoke: CI's quick run).
bench: install
	$(BIN)/python -m bench --size $(SIZE)

clean:
	rm -rf var .pytest_cache
