# Kernpunt developer commands. `make run` starts the app, `make test` runs the suite.
#
# Installs are stamped inside the virtualenv, so a rerun is instant and a change to
# pyproject.toml reinstalls. Override on the command line, e.g.
#   make run PORT=8080        make test PYTEST_ARGS='-x -k ledger'

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

PYTHON      ?= python3
VENV        ?= .venv
BIN         := $(VENV)/bin
PY          := $(BIN)/python
PIP         := $(PY) -m pip --disable-pip-version-check
HOST        ?= 127.0.0.1
PORT        ?= 8000
PYTEST_ARGS ?=
BENCH_ARGS  ?=
# Browser tests (tests/browser) need Chromium and the npm dev packages (axe-core);
# BROWSER_TESTS=0 skips installing them. CI=true turns a missing Chromium into a failure.
BROWSER_TESTS ?= 1

STAMP_VENV := $(VENV)/.stamp-venv
STAMP_APP  := $(VENV)/.stamp-install
STAMP_DEV  := $(VENV)/.stamp-install-dev

.PHONY: help venv install install-dev run test test-deps bench bench-reports lint clean distclean

help:
	@echo "make run        install, migrate, seed the demo town (if empty), serve on http://$(HOST):$(PORT)"
	@echo "make test       install dev extras and run the whole test suite (PYTEST_ARGS=...)"
	@echo "make bench      HTTP vs raw-SQL ledger benchmark on PostgreSQL (not part of make test)"
	@echo "make bench-reports  dashboard p50/p95 on the large demo town, PostgreSQL and SQLite (BENCH_ARGS=--reuse)"
	@echo "make lint       ruff, when installed"
	@echo "make clean      remove caches and build output (keeps .venv and var/)"
	@echo "make distclean  clean + remove .venv"

$(STAMP_VENV):
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	touch $@

venv: $(STAMP_VENV)

$(STAMP_APP): pyproject.toml $(STAMP_VENV)
	$(PIP) install -q -e .
	touch $@

$(STAMP_DEV): pyproject.toml $(STAMP_APP)
	$(PIP) install -q -e '.[dev]'
	touch $@

install: $(STAMP_APP)

install-dev: $(STAMP_DEV)

run: install
	mkdir -p var
	$(BIN)/kernpunt db upgrade
	$(BIN)/kernpunt demo --if-empty
	$(BIN)/kernpunt serve --host $(HOST) --port $(PORT)

# System packages and npm packages the test suite needs. Chromium (Debian's package:
# `playwright install` cannot download browsers here) and fonts for readable screenshots
# (fonts-dejavu-core, fonts-noto-color-emoji) are installed with apt-get when missing and
# we are root (CI); otherwise a missing Chromium only warns and tests/browser skips with
# the reason (with CI=true it fails). node_modules (axe-core, pinned in package-lock.json)
# comes from `npm ci` when missing.
test-deps:
	@# poppler-utils: the card-sheet tests render the PDF to find its QR codes and PINs.
	@if ! command -v pdftoppm >/dev/null 2>&1 && [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "test-deps: installing poppler-utils (apt-get)"; DEBIAN_FRONTEND=noninteractive apt-get update -qq; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends poppler-utils >/dev/null; fi
	@if [ "$(BROWSER_TESTS)" = "1" ]; then \
	  missing=""; \
	  command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || missing=" chromium"; \
	  [ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing="$$missing fonts-dejavu-core"; \
	  [ -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || missing="$$missing fonts-noto-color-emoji"; \
	  if [ -z "$$missing" ]; then \
	    echo "test-deps: chromium present"; \
	  elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "test-deps: installing$$missing (apt-get)"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else \
	    echo "test-deps: missing:$$missing (apt-get install$$missing)" >&2; \
	    case "$$missing" in *chromium*) \
	      if [ -n "$(CI)" ] && [ "$(CI)" != "false" ] && [ "$(CI)" != "0" ]; then exit 1; fi; \
	      echo "test-deps: the browser tests will be skipped" >&2;; \
	    esac; \
	  fi; \
	  if [ ! -d node_modules/axe-core ]; then \
	    if command -v npm >/dev/null 2>&1; then \
	      echo "test-deps: npm ci"; npm ci --no-audit --no-fund --loglevel=error; \
	    elif [ -n "$(CI)" ] && [ "$(CI)" != "false" ] && [ "$(CI)" != "0" ]; then \
	      echo "test-deps: npm is missing (apt-get install npm)" >&2; exit 1; \
	    else \
	      echo "test-deps: npm is missing; the accessibility checks will be skipped" >&2; \
	    fi; \
	  fi; \
	fi

test: install-dev test-deps
	mkdir -p var
	$(PY) -m pytest $(PYTEST_ARGS)

# A benchmark, not a test: needs PostgreSQL and wrk (installed with apt-get when root).
bench: install-dev
	mkdir -p var
	$(PY) bench/run.py $(BENCH_ARGS)

# A benchmark, not a test: builds (or with BENCH_ARGS=--reuse reuses) the large demo town.
bench-reports: install-dev
	mkdir -p var/bench
	$(PY) bench/reports.py $(BENCH_ARGS)

lint: install-dev
	@if [ -x $(BIN)/ruff ]; then $(BIN)/ruff check backend tests bench alembic; \
	elif command -v ruff >/dev/null 2>&1; then ruff check backend tests bench alembic; \
	else echo "lint: ruff is not installed (.venv/bin/pip install ruff)"; fi

clean:
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -exec rm -rf {} +
	rm -rf .pytest_cache .hypothesis .ruff_cache build dist test-artifacts *.egg-info

distclean: clean
	rm -rf $(VENV)
