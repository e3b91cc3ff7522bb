# The two commands: `make up` (run the system) and `make test` (run the tests).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PROFILE ?= development
SIZE ?= default
TEST_WORKERS ?= 2

.PHONY: install browser faketime up demo demo-month demo-year test test-scale test-dates test-fast bench screenshots clean

## --compile-bytecode: uv, unlike pip, writes no .pyc by default, and where PYTHONDONTWRITEBYTECODE is set (this
## machine, CI) none is ever written: every process a worker starts then compiled Prefect again (4.8 s, not 2.2 s).
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet 'uv>=0.4'
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -e '.[test]'
	touch $(STAMP)

## The website's GOV.UK Design System assets (govuk-frontend) and, for the browser tests, axe-core:
## from the npm registry, as pinned in website/package-lock.json, vendored under website/static/assets.
WEBSITE_ASSETS := website/static/assets/.installed
$(WEBSITE_ASSETS): website/package.json website/package-lock.json
	@command -v npm >/dev/null || apt-get install -y -q npm >/dev/null || \
	  (apt-get update -q >/dev/null && apt-get install -y -q npm >/dev/null)
	npm ci --prefix website --no-audit --no-fund --silent
	rm -rf website/static/assets && mkdir -p website/static/assets
	cp -R website/node_modules/govuk-frontend/dist/govuk/assets/. website/static/assets/
	cp website/node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.css \
	   website/node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.js website/static/assets/
	touch $@

install: $(STAMP) $(WEBSITE_ASSETS)

## Start the Prefect server, a worker, the local mail server and the secure website; register the deployments.
## PROFILE=production: Prefect and the cases on PostgreSQL, API auth, data key, STARTTLS, two workers.
up: install
	$(BIN)/python -m cli.stack up --profile $(PROFILE)

## One referral through every step, people simulated by `cig` commands. REGIME=wt2023: one case under
## Working Together 2023 (cli.demo_wt2023), on config/partnership.wt2023.example.yaml.
REGIME ?= wt2015
demo: install
ifeq ($(REGIME),wt2015)
	$(BIN)/python -m cli.stack demo
else ifeq ($(REGIME),wt2023)
	$(BIN)/python -m cli.demo_wt2023
else
	@echo "REGIME must be wt2015 or wt2023" >&2; exit 2
endif

## A simulated month of deadline sweeps in a few seconds: each day's reminders, chases and escalations.
demo-month: install
	$(BIN)/python -m cli.demo_month

## Half a year of an SCR's learning actions in about a minute: leads reminded, chased, escalated; the 6-month review.
demo-year: install
	$(BIN)/python -m cli.demo_year

## Debian's Chromium for the browser tests (Playwright's own browser download cannot run here).
browser:
	@command -v chromium >/dev/null || apt-get install -y -q chromium >/dev/null || \
	  (apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null)

## The whole suite on two pytest-xdist workers: the system tests (the scale tests among them) on one of
## them, one after another, beside the other layers on the other; PostgreSQL too when
## CIG_TEST_POSTGRES_URL is set (.ci/run sets it).
test: install browser
	$(BIN)/python -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

## The tests that meet the calendar (the meeting rule, listing lead time, working days, the real clock
## of the flows, the website and `cig`), run with the whole process tree's clock set by Debian's faketime to
## each of DATES: the day before a meeting, a meeting day, inside the listing lead time, Christmas Day, and
## a month's last evening (in British Summer Time the next day already). Green on any date.
DATES ?= 2027-01-11T16:00 2027-01-12T11:30 2027-02-07T09:00 2026-12-25T10:00 2027-03-31T23:30
CALENDAR_TESTS ?= tests/rules tests/tasks/test_meeting_changes.py tests/tasks/test_sweep.py tests/tasks/test_action_cli.py \
  tests/tasks/test_review_cli.py tests/tasks/test_report.py tests/tasks/test_tracker.py \
  tests/flows/test_learning_forms.py tests/flows/test_annual_report_flow.py tests/flows/test_referral_flow.py \
  tests/website/test_website_chairs.py tests/website/test_website_links.py tests/website/test_website_papers.py \
  tests/website/test_action_pages.py tests/website/test_review_pages.py tests/website/test_learning_pages.py \
  tests/website/test_ratification_pages.py
test-dates: install browser faketime
	@for when in $(DATES); do \
	  echo "== the calendar's tests on $$when"; \
	  faketime "$$(echo $$when | tr T ' '):00" $(BIN)/python -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) \
	    -m "not scale and not system" $(CALENDAR_TESTS) $(PYTEST_ARGS) || exit 1; \
	done

faketime:
	@command -v faketime >/dev/null || apt-get install -y -q faketime >/dev/null || \
	  (apt-get update -q >/dev/null && apt-get install -y -q faketime >/dev/null)

## Only the whole-stack scale tests (fifty referrals on two workers on PostgreSQL, the recovery times, the bench smoke), which `make test` runs too.
test-scale: install
	$(BIN)/python -m pytest -q -p no:cacheprovider -m scale $(PYTEST_ARGS)

## The browser tests, their 1366x768 screenshots copied to docs/screenshots for the guides in docs/.
screenshots: install browser
	CIG_DOC_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest -q -p no:cacheprovider -n 0 $(shell grep -l '\.screenshot' tests/website/test_*.py) $(PYTEST_ARGS)

## Benchmarks on SQLite and PostgreSQL; results to docs/performance.md (SIZE=smoke: CI's quick run).
bench: install
	$(BIN)/python -m bench --size $(SIZE)

clean:
	rm -rf var .pytest_cache
