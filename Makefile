# Platform Hub: `make run` starts the whole hub, `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint install clean-var bench

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python -m hub.devserver

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy hub projects docker_repos identities

# In parallel, one worker per core (pytest-xdist; each worker has its own test database).
# `make test PYTEST_WORKERS=0 PYTEST_ARGS=--lf`: only what failed last time, in one process.
PYTEST_WORKERS ?= auto

test: lint
	$(BIN)/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

clean-var:
	rm -rf var

# Browser tests (tests/e2e): the user guide walked in headless Chromium against a running
# hub. Needs Debian's chromium (/usr/bin/chromium: `apt-get install -y chromium`), and
# Node with npm for the OpenID provider of test_oidc.py (installed by the test itself,
# `npm ci` in tests/oidc/). `make run` needs neither.
E2E_STAMP := $(VENV)/.installed-e2e-stamp

.PHONY: e2e screenshots

$(E2E_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev,e2e]'
	touch $(E2E_STAMP)

e2e: $(E2E_STAMP)
	$(BIN)/pytest -m e2e tests/e2e $(PYTEST_ARGS)

# The e2e run, also saving the README's screens into docs/screenshots/.
screenshots: $(E2E_STAMP)
	HUB_E2E_DOCS_SCREENSHOTS=1 $(BIN)/pytest -m e2e tests/e2e $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)
