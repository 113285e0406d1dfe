# evlims: `make demo` runs the demo site on http://127.0.0.1:8000; `make test` runs the whole suite.
# Both create .venv with python3 and install the pinned requirements on first use.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
HOST ?= 127.0.0.1
PORT ?= 8000
DEMO_SETTINGS := config.settings.local
DEMO_DATABASE_URL ?= sqlite:///$(CURDIR)/var/evlims.sqlite3

export PIP_DISABLE_PIP_VERSION_CHECK := 1
export PIP_NO_INPUT := 1

.PHONY: help install demo demo-data test lint format

help:
	@echo "make demo   - install, migrate a SQLite database, load demo data, serve on http://$(HOST):$(PORT)/"
	@echo "make test   - install, lint, start PostgreSQL/Redis if stopped, run the fast suite and the integration suite"
	@echo "make lint   - ruff check and format check, import contracts (.importlinter)"

$(PY):
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the pinned requirements or the package metadata change.
$(VENV)/.installed: requirements.txt pyproject.toml | $(PY)
	$(PIP) install --quiet -r requirements.txt
	$(PIP) install --quiet --no-deps -e .
	@touch $@

install: $(VENV)/.installed

demo-data: install
	@mkdir -p var
	DJANGO_SETTINGS_MODULE=$(DEMO_SETTINGS) DATABASE_URL=$(DEMO_DATABASE_URL) $(PY) manage.py migrate --noinput -v 0
	@if DJANGO_SETTINGS_MODULE=$(DEMO_SETTINGS) DATABASE_URL=$(DEMO_DATABASE_URL) $(PY) manage.py help evlims_load_protocols >/dev/null 2>&1; then \
		DJANGO_SETTINGS_MODULE=$(DEMO_SETTINGS) DATABASE_URL=$(DEMO_DATABASE_URL) $(PY) manage.py evlims_load_protocols; \
	fi
	DJANGO_SETTINGS_MODULE=$(DEMO_SETTINGS) DATABASE_URL=$(DEMO_DATABASE_URL) $(PY) manage.py evlims_demo

demo: demo-data
	@echo
	@echo "evlims demo: http://$(HOST):$(PORT)/   (API docs: http://$(HOST):$(PORT)/api/schema/swagger/)"
	@echo "Log in with one of the accounts above; stop the server with Ctrl-C."
	@echo
	DJANGO_SETTINGS_MODULE=$(DEMO_SETTINGS) DATABASE_URL=$(DEMO_DATABASE_URL) $(PY) manage.py runserver $(HOST):$(PORT)

# Lint first: it takes seconds, and unformatted or lint-failing code fails the run before the suites start.
test: install
	$(MAKE) --no-print-directory lint
	bash scripts/test.sh

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

format: install
	$(VENV)/bin/ruff format .

# make bench: the benchmark harness (figures and same-run baselines; see docs/performance.md).
.PHONY: bench
bench: install
	$(PY) bench/run.py $(BENCH_ARGS)
