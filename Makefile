# Platform Hub: `make run` starts the whole hub, `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEV_LOCK := requirements/dev-lock.txt

.PHONY: run test lint install clean-var bench lock deploy-check

# The dev lock (hashes checked) holds every dependency, the e2e ones included; the project
# itself is installed on top with --no-deps, so nothing unpinned comes in.
$(STAMP): pyproject.toml $(DEV_LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r $(DEV_LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python -m hub.devserver

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
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
# `npm ci` in tests/oidc/). `make run` needs neither. Playwright is in the dev lock.
.PHONY: e2e screenshots

e2e: $(STAMP)
	$(BIN)/pytest -m e2e tests/e2e $(PYTEST_ARGS)

# The e2e run, also saving the README's screens into docs/screenshots/.
screenshots: $(STAMP)
	HUB_E2E_DOCS_SCREENSHOTS=1 $(BIN)/pytest -m e2e tests/e2e $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# --- Tools in their own virtualenv (checkov's pinned dependencies stay out of .venv) ---
TOOLS := .venv-tools
TOOLS_STAMP := $(TOOLS)/.installed-stamp

$(TOOLS_STAMP): requirements/tools-lock.txt
	test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --require-hashes -r requirements/tools-lock.txt
	touch $(TOOLS_STAMP)

# Regenerate the lock files after changing pyproject.toml (or requirements/*.in):
# requirements/lock.txt is what the image installs, requirements/dev-lock.txt what
# `make install` and CI install (dev and e2e extras, the runtime versions held equal).
# --universal: one lock for Python 3.11 and 3.12 on every platform, with every file's hash.
# Existing pins are kept; `make lock LOCK_ARGS=--upgrade` moves everything to the newest.
UV_COMPILE = $(TOOLS)/bin/uv pip compile --quiet --universal --python-version 3.11 \
	--generate-hashes --custom-compile-command "make lock" $(LOCK_ARGS)

lock: $(TOOLS_STAMP)
	$(UV_COMPILE) pyproject.toml requirements/build.in -o requirements/lock.txt
	$(UV_COMPILE) pyproject.toml requirements/build.in --extra dev --extra e2e \
		--constraint requirements/lock.txt -o $(DEV_LOCK)
	$(UV_COMPILE) requirements/tools.in -o requirements/tools-lock.txt

# checkov's Kubernetes checks on the rendered example overlay, and its Dockerfile checks
# (--skip-download: offline, no account; the checks are the ones shipped in the package).
# Every skip is written down where it applies, with its reason: `checkov.io/skipN`
# annotations in deploy/kubernetes, `# checkov:skip=` comments in the Dockerfile.
RENDERED := var/deploy-check/example.yaml

deploy-check: $(TOOLS_STAMP)
	mkdir -p $(dir $(RENDERED))
	kubectl kustomize deploy/kubernetes/overlays/example > $(RENDERED)
	$(TOOLS)/bin/checkov --quiet --compact --skip-download --framework kubernetes -f $(RENDERED)
	$(TOOLS)/bin/checkov --quiet --compact --skip-download --framework dockerfile -f Dockerfile
