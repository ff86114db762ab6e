# Credit grading platform: every command a newcomer needs. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CP     := $(BIN)/credit-platform
# The stamp changes with the pins and with how they are installed (INSTALL_REV), so a checkout's
# .venv is brought up to date by the next make.
INSTALL_REV := 2
STAMP  := $(VENV)/.installed-$(shell (cat requirements.lock pyproject.toml; echo $(INSTALL_REV)) 2>/dev/null | cksum | cut -d' ' -f1)

export DO_NOT_TRACK := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := False
export PYTHONDONTWRITEBYTECODE := 1

MANIFEST := dbt_project/target/manifest.json
DBT_SOURCES := dbt_project/dbt_project.yml $(shell find dbt_project/models dbt_project/seeds dbt_project/macros dbt_project/tests dbt_project/snapshots -type f 2>/dev/null)

.PHONY: help install lock lint test test-fast test-pg compose-tool browser-tool screenshot manifest demo summary docs bench warehouse warehouse-url psql health airflow stop clean

help: ## list the make targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 18

# The environment: .venv from requirements.lock, this package editable. Installed with uv (about
# 30 s instead of over a minute with pip): the uv on PATH, else one installed from the package index
# into .local/bootstrap (a wheel, a few seconds); pip only when neither can be had.
# The dependencies are compiled to bytecode once, when installed (pip does it by default; after uv,
# compileall; a few files that are not Python are skipped, as pip skips them): with
# PYTHONDONTWRITEBYTECODE set, Python never writes the .pyc files it would otherwise cache, and every
# process would compile Airflow, dbt and Great Expectations from source again (measured here:
# `import great_expectations` 10.8 s -> 4.2 s, `import airflow` 5.4 s -> 2.6 s).
BOOTSTRAP := .local/bootstrap
UV_PIN    := uv>=0.5

$(STAMP): requirements.lock pyproject.toml
	@echo "installing the environment into $(VENV) ..." >&2
	@start=$$(date +%s); \
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) >&2; \
	uv=$$(command -v uv 2>/dev/null); \
	if [ -z "$$uv" ] && [ -x $(BOOTSTRAP)/bin/uv ]; then uv=$(BOOTSTRAP)/bin/uv; fi; \
	if [ -z "$$uv" ]; then \
	  echo "uv is not on PATH: installing it into $(BOOTSTRAP) ..." >&2; \
	  if $(BIN)/python -m pip install --quiet --disable-pip-version-check --target $(BOOTSTRAP) "$(UV_PIN)" >/dev/null 2>&1 \
	     && [ -x $(BOOTSTRAP)/bin/uv ]; then uv=$(BOOTSTRAP)/bin/uv; \
	  else echo "could not install uv: installing with pip (about a minute)" >&2; fi; \
	fi; \
	if [ -n "$$uv" ]; then \
	  "$$uv" pip install --quiet --python $(BIN)/python -r requirements.lock >&2 && \
	  "$$uv" pip install --quiet --python $(BIN)/python --no-deps -e . >&2 && \
	  { $(BIN)/python -m compileall -q -j 0 "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" \
	      >/dev/null 2>&1 || true; }; \
	else \
	  $(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock 2> >(grep -v '^WARNING: Location' >&2) >&2 && \
	  $(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e . 2> >(grep -v '^WARNING: Location' >&2) >&2; \
	fi && rm -f $(VENV)/.installed-* && touch $@ && \
	echo "environment installed in $$(( $$(date +%s) - start )) s$${uv:+ with $$uv}" >&2

install: $(STAMP) ## create .venv with the pinned dependencies

# Cosmos renders the grading DAG from this manifest, so parsing DAG files runs no dbt.
$(MANIFEST): $(STAMP) $(DBT_SOURCES)
	@$(CP) dbt parse --quiet >&2

manifest: $(MANIFEST) ## compile the dbt manifest the grading DAG is rendered from

demo: $(STAMP) $(MANIFEST) ## set everything up and run the whole job end to end on a generated city
	@$(CP) demo

summary: $(STAMP) ## print what the last run produced (loads, grades, publications, inspection lists)
	@$(CP) summary

docs: $(STAMP) ## build the dbt docs from the warehouse and serve them on 127.0.0.1:8081
	@$(CP) docs

bench: $(STAMP) $(MANIFEST) ## the whole chain stage by stage against each stage's limit, on BENCH_SCALE subjects (default 100000)
	@$(CP) bench

lock: ## re-resolve requirements.lock from pyproject.toml (needs uv)
	uv pip compile pyproject.toml --extra dev --python-version 3.11 -o requirements.lock

lint: $(STAMP) ## ruff, with Airflow's AIR rules
	$(BIN)/ruff check .

# A second PostgreSQL (these machines run PostgreSQL 15 there) for the tests whose outcome can
# depend on the server's version: those marked `server_version` (migrations, roles and grants,
# the personal-data functions and views a recipient reads, COPY and the date parsing in plpgsql,
# the raw gate's SQL and locks, a dbt build; tests/README.md lists them). The rest (Airflow,
# files, Python rules) would only repeat the first pass. They run alongside the first pass, at a
# lower CPU priority (nice) so that they take what the first pass leaves idle, their output printed after it.
# `make test-pg` runs every integration test there. Set SECOND_PG_URL= (empty) to skip.
SECOND_PG_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
# The first pass runs in TEST_WORKERS processes (pytest-xdist), a test file each at a time, so
# that a file's fixtures (a graded city) are built once; TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= 2

test: $(STAMP) $(MANIFEST) compose-tool ## install what is needed, lint, and run every test against a real PostgreSQL
	$(BIN)/ruff check .
	@second=""; \
	if [ -n "$(SECOND_PG_URL)" ] && $(BIN)/python -c "import psycopg; psycopg.connect('$(SECOND_PG_URL)', connect_timeout=3).close()" 2>/dev/null; then \
	  mkdir -p .local; \
	  echo "the tests that depend on the server's version run alongside against $(SECOND_PG_URL); their output follows the first pass" >&2; \
	  CREDIT_TEST_CITY_SUBJECTS=300 WAREHOUSE_URL="$(SECOND_PG_URL)" nice -n 10 $(BIN)/pytest -q -m "server_version" -p no:cacheprovider \
	    --basetemp=.local/pytest-second-pg > .local/test-second-pg.log 2>&1 & second=$$!; \
	else echo "no second PostgreSQL at $(SECOND_PG_URL): the tests run on one server only" >&2; fi; \
	$(BIN)/pytest $(if $(filter-out 0,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist loadfile); first=$$?; rc=0; \
	if [ -n "$$second" ]; then \
	  wait $$second; rc=$$?; \
	  echo "=== the tests that depend on the server's version, against $(SECOND_PG_URL) ==="; \
	  cat .local/test-second-pg.log; \
	fi; \
	test $$first -eq 0 -a $$rc -eq 0

test-pg: $(STAMP) $(MANIFEST) ## integration tests against SECOND_PG_URL only (default: PostgreSQL on 127.0.0.1:5432)
	WAREHOUSE_URL="$(SECOND_PG_URL)" $(BIN)/pytest -m "integration"

# docker-compose.yml is validated with Debian's docker-compose; install it where we can.
compose-tool:
	@command -v docker-compose >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's docker-compose to validate docker-compose.yml ..." >&2; \
	    { apt-get install -y -qq docker-compose || { apt-get update -qq && apt-get install -y -qq docker-compose; }; } >/dev/null 2>&1 \
	      || echo "could not install docker-compose: its test will be skipped" >&2; \
	  else echo "docker-compose is not installed and cannot be installed here: its test will be skipped" >&2; fi; }

# Debian's Chromium (Playwright's downloaded browsers do not run here) and CJK fonts for the pages'
# Chinese, installed where we can.
browser-tool:
	@{ command -v chromium >/dev/null 2>&1 && fc-list :lang=zh 2>/dev/null | grep -q .; } || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's chromium and fonts-noto-cjk for the view's screenshots ..." >&2; \
	    { apt-get install -y -qq chromium fonts-noto-cjk || { apt-get update -qq && apt-get install -y -qq chromium fonts-noto-cjk; }; } >/dev/null 2>&1 \
	      || echo "could not install chromium: the screenshots and the view's browser test cannot run" >&2; \
	  else echo "chromium is not installed and cannot be installed here: install it (Debian: apt-get install chromium fonts-noto-cjk)" >&2; fi; }

screenshot: $(STAMP) browser-tool ## PNGs of the supervision view (Airflow UI) in headless Chromium, on the demo's data
	@$(CP) screenshot

test-fast: $(STAMP) $(MANIFEST) ## unit and DAG tests only (no Airflow services, no DAG runs)
	$(BIN)/pytest -m "not slow and not integration"

warehouse: $(STAMP) ## start the embedded warehouse (unless WAREHOUSE_URL is set) and apply migrations
	@$(CP) warehouse start

warehouse-url: $(STAMP) ## print the warehouse connection string (use make -s)
	@$(CP) warehouse url

psql: $(STAMP) ## open psql on the warehouse as its administrator
	@$(CP) warehouse psql

health: $(STAMP) ## platform health checks, connecting as each component role
	@$(CP) health

airflow: $(STAMP) $(MANIFEST) ## start Airflow 3 on 127.0.0.1:8080 with this project's DAGs and print the login
	@$(CP) airflow start

stop: ## stop Airflow and the embedded warehouse
	@if [ -x $(CP) ]; then $(CP) stop; else echo "nothing to stop (no environment yet)"; fi

clean: stop ## stop everything, delete .local/ (the embedded warehouse's data too) and data/
	rm -rf .local data dbt_project/target dbt_project/logs
