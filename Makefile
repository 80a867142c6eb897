# `make run` serves the app; `make test` runs every test. Both set up what they need first.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
BUN := .tools/node_modules/.bin/bun
AXE := .tools/node_modules/axe-core/axe.min.js
PORT ?= 3000

export REFLEX_CHECK_LATEST_VERSION := 0
export REFLEX_TELEMETRY_ENABLED := false
export REFLEX_BUN_PATH := $(CURDIR)/$(BUN)
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup migrate run replicas test test-fast bench bench-ui browser haproxy clean

# The venv is rebuilt only when requirements.txt changes.
$(VENV)/.installed: requirements.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

# Reflex downloads bun from the internet; the npm registry's bun package works offline.
$(BUN):
	npm install --prefix .tools --no-audit --no-fund --loglevel=error bun@1.4.4
	$(BUN) --version

# axe-core, pinned, for the accessibility audit in the end-to-end tests.
$(AXE):
	npm install --prefix .tools --no-audit --no-fund --loglevel=error --save-exact axe-core@4.14.1

setup: $(VENV)/.installed $(BUN)

migrate: setup
	$(VENV)/bin/alembic upgrade head

run: migrate
	$(VENV)/bin/reflex run --env prod --single-port --frontend-port $(PORT) --backend-port $(PORT)

# N replicas behind HAProxy on http://localhost:$(PORT), on PWAPP_DATABASE_URL (PostgreSQL) and PWAPP_REDIS_URL.
N ?= 2
replicas: setup haproxy
	$(PY) -m deploy.replicas $(N) --port $(PORT)

# Debian's HAProxy, the reverse proxy of `make replicas` and of the replica tests.
haproxy:
	@command -v haproxy >/dev/null || { apt-get update -qq && apt-get install -y -qq haproxy >/dev/null; }

# Debian's Chromium for the browser tests (Playwright cannot download browsers here).
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

test: setup browser haproxy $(AXE)
	$(VENV)/bin/ruff check pwapp tests bench alembic rxconfig.py deploy
	$(PY) -m pytest

test-fast: setup
	$(PY) -m pytest -m "not e2e"

bench: setup
	@$(PY) -m bench

bench-ui: setup
	@$(PY) -m bench ui

clean:
	rm -rf .web .states .tools $(VENV) var
