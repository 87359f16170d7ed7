# The two commands that matter: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run manage test lint format e2e fuzz-api clean

# localstripe, the Stripe-compatible server the Stripe provider is tested against, in a virtualenv
# of its own: its pinned dependencies (aiohttp) are none of ours.
LOCALSTRIPE := .venv-localstripe/bin/localstripe

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.runtime $@

$(LOCALSTRIPE):
	$(PYTHON) -m venv .venv-localstripe
	.venv-localstripe/bin/pip install --quiet localstripe==1.15.10

## Serve the whole product with demo data on http://127.0.0.1:8000 (Ctrl-C stops it).
run: $(VENV)/.runtime
	DEBUG=$${DEBUG:-1} $(BIN)/python -m config.devstack

## Run a manage.py command on the running `make run`'s database and Redis: make manage ARGS="...".
manage: $(VENV)/.runtime
	DEBUG=$${DEBUG:-1} $(BIN)/python -m config.devstack manage $(ARGS)

AXE := tests/e2e/axe/node_modules/axe-core/axe.min.js

# axe-core for the browser tests' accessibility checks, from npm into tests/e2e/axe (no CDN).
# Without npm the accessibility checks are skipped, as the browser tests are without chromium.
$(AXE): tests/e2e/axe/package.json tests/e2e/axe/package-lock.json
	@if command -v npm >/dev/null; then \
		npm ci --prefix tests/e2e/axe --no-audit --no-fund --silent && touch $@; \
	else echo "npm not found: the browser tests' accessibility checks will be skipped"; fi

## Run the whole test suite against Redis (REDIS_URL) and the database in DATABASE_URL.
test: $(VENV)/.dev $(AXE) $(LOCALSTRIPE)
	DEBUG=$${DEBUG:-1} $(BIN)/python -m pytest $(PYTEST_ARGS)

## Fuzz the JSON API with Schemathesis against its own schema, on a live server (REDIS_URL's db).
fuzz-api: $(VENV)/.dev
	DEBUG=$${DEBUG:-1} $(BIN)/python tests/fuzz/api.py $(FUZZ_ARGS)

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(VENV)/.dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .venv-localstripe staticfiles .pytest_cache .ruff_cache
