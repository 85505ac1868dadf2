# Quizfunnel: `make run` starts the product, `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
export HOST PORT

.PHONY: help install install-dev run dev test test-fast lint format chromium pdf-libs gettext messages compilemessages bench bench-smoke clean

help:
	@echo "make run     install, migrate, load the demo quiz and start web + worker + scheduler"
	@echo "make dev     the same with DEBUG=true and Django's runserver (tracebacks, reloading)"
	@echo "make test    install and run the whole test suite (browser tests included)"
	@echo "make lint    ruff, makemigrations --check, the import contract (lint-imports)"
	@echo "make messages  update locale/*/django.po from the visitor's sources, compile them"
	@echo "make bench   the benchmarks, on PostgreSQL (DATABASE_URL)"

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check uv

# The lock files pin every package; a changed lock file reinstalls.
$(VENV)/.installed: requirements.lock | $(BIN)/uv
	$(BIN)/uv pip install -q --python $(BIN)/python -r requirements.lock
	@touch $@

$(VENV)/.installed-dev: requirements-dev.lock | $(BIN)/uv
	$(BIN)/uv pip install -q --python $(BIN)/python -r requirements-dev.lock
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# Like production (DEBUG off, a secret key generated once into var/), on plain HTTP.
run: install pdf-libs compilemessages
	@mkdir -p var
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput -v0
	$(BIN)/python manage.py seed_demo
	@exec bin/run

# For development: DEBUG=true, runserver reloads on changes and shows tracebacks.
dev: export DEBUG = true
dev: run

# Pango for WeasyPrint (the visitor's PDF scorecard); Debian's Chromium brings it too.
pdf-libs:
	@ldconfig -p 2>/dev/null | grep -q libpangoft2-1.0 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0; \
	  else echo "Pango is missing: sudo apt-get install -y libpango-1.0-0 libpangoft2-1.0-0 (PDF scorecards need it)"; fi; }

# GNU gettext (msgfmt) compiles the catalogues; the compiled .mo files are committed too,
# so the product speaks every language without it.
gettext:
	@command -v msgfmt >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gettext; \
	  else echo "gettext is missing: sudo apt-get install -y gettext (the committed .mo files are used)"; fi; }

# locale/*/LC_MESSAGES/django.mo from the .po files (when msgfmt is there).
compilemessages: install
	@if command -v msgfmt >/dev/null 2>&1; then $(BIN)/python manage.py compilemessages -v0 --ignore=".venv/*"; fi

# New visitor-facing strings into the catalogues (translate them, then this compiles).
messages: install-dev gettext
	$(BIN)/python manage.py visitor_messages
	$(BIN)/python manage.py compilemessages -v0 --ignore=".venv/*"

# Debian's Chromium for the browser tests (needs root; CI runs as root).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "Chromium is missing: sudo apt-get install -y chromium (browser tests will be skipped)"; fi; }

test: install-dev chromium gettext compilemessages
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: install-dev
	$(BIN)/python -m pytest -m "not browser" $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/lint-imports

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Benchmarks run on PostgreSQL (DATABASE_URL, default the local server) in a throwaway database.
# Each prints its figures beside their targets. BENCH_EVENTS sizes the reports benchmark
# (ten million events over a million attempts by default; smaller for a quick look).
BENCH_EVENTS ?= 10000000
export BENCH_EVENTS
bench: install-dev
	$(BIN)/python bench/load.py
	$(BIN)/python bench/request_cpu.py
	$(BIN)/python bench/round_trip.py
	$(BIN)/python bench/reports.py $$(( $(BENCH_EVENTS) / 10 ))
	$(BIN)/python bench/tracking_overhead.py
	$(BIN)/python bench/pending_trigger.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/partitions.py
	$(BIN)/python bench/hubspot_latency.py
	$(BIN)/python bench/hubspot_batch.py
	$(BIN)/python bench/inbox.py
	$(BIN)/python bench/builder_page.py

# The same scripts at toy sizes: proves they still run (CI), measures nothing.
bench-smoke: install-dev
	$(BIN)/python bench/load.py --smoke
	$(BIN)/python bench/request_cpu.py --alone --rounds 1
	$(BIN)/python bench/round_trip.py 1
	$(BIN)/python bench/tracking_overhead.py 2
	$(BIN)/python bench/pending_trigger.py 1
	$(BIN)/python bench/ingest.py 3
	$(BIN)/python bench/partitions.py 2000
	$(BIN)/python bench/reports.py 2000
	$(BIN)/python bench/hubspot_latency.py 3
	$(BIN)/python bench/hubspot_batch.py 3
	$(BIN)/python bench/inbox.py 30
	$(BIN)/python bench/builder_page.py 1

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .hypothesis
