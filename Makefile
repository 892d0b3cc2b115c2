# Two commands on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install run run-stack screenshots deploy-local deploy-local-down test coverage lint typecheck stack stack-down stack-status stack-smoke stack-reset clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Serve the app on the embedded default: SQLite, files on disk, eager tasks, demo data.
run: install
	scripts/run.sh

## Serve the app against the real components started by `make stack`.
run-stack: install
	scripts/run.sh --stack

## Install what is missing, start the components, run every test, stop what was started.
test: install
	scripts/test.sh

## The same run with line coverage (slower: every line the tests run is traced).
coverage: install
	TEST_COVERAGE=1 scripts/test.sh

## The main pages at 1280 and 390 px, light and dark, in var/screenshots/ (git-ignored).
screenshots: install
	$(PY) scripts/screenshots.py

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy .

## The production topology on this machine: nginx, two web processes, a worker per queue, beat.
deploy-local: install
	scripts/deploy-local.sh up

## Stop what deploy-local started (and the stack, if it started it).
deploy-local-down:
	scripts/deploy-local.sh down

stack: install
	scripts/stack.sh up

stack-down:
	scripts/stack.sh down

stack-status:
	scripts/stack.sh status

## Check every component of the running stack using the values in .env.
stack-smoke: install
	$(PY) scripts/stack_smoke.py

## Stop the stack and delete all its state (data, keys, logs).
stack-reset:
	scripts/stack.sh down
	rm -rf var/stack

clean:
	rm -rf var/db.sqlite3 var/blobs var/staticfiles
