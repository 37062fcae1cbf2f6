# Examhall: `make run` and `make test` do all set-up on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# The test suite runs against the real services production uses.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/examhall
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
CHROMIUM ?= /usr/bin/chromium
PYTEST_ARGS ?=

.PHONY: help run test deps lint typecheck migrations-check pytest chromium format clean

help:
	@echo "make run    start the site with the demo course (SQLite, embedded broker, Celery worker and beat)"
	@echo "make test   the whole suite on PostgreSQL and Redis, with ruff, mypy and makemigrations --check"

$(PY):
	@python="$$(scripts/find-python.sh)" || exit 1; \
	echo "Creating $(VENV) with $$python"; \
	"$$python" -m venv $(VENV)

$(VENV)/.installed: requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

deps: $(VENV)/.installed node_modules/.installed

# Debian's Chromium drives the browser tests (Playwright's own download cannot work offline).
chromium:
	@if [ ! -x "$(CHROMIUM)" ]; then \
		echo "Installing Debian's chromium for the browser tests"; \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; fi; \
	fi
	@"$(CHROMIUM)" --version

run: deps
	@mkdir -p var
	DJANGO_DEBUG=1 $(PY) manage.py migrate --noinput
	DJANGO_DEBUG=1 $(PY) manage.py load_demo
	@DJANGO_DEBUG=1 scripts/run-dev.sh "$(PY)" "$(HOST)" "$(PORT)"

lint: deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: deps
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

typecheck: deps
	DJANGO_DEBUG=1 $(VENV)/bin/mypy .

migrations-check: deps
	DJANGO_DEBUG=1 $(PY) manage.py makemigrations --check --dry-run

pytest: deps chromium
	DJANGO_DEBUG=1 DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) CHROMIUM=$(CHROMIUM) \
		$(PY) -m pytest $(PYTEST_ARGS)

test: lint typecheck migrations-check pytest

clean:
	rm -rf var .pytest_cache .mypy_cache
