# Kith: `make run` starts a server, `make test` runs the whole test suite.
# Both set themselves up: a virtualenv in .venv, the node packages the client
# tests use, and the Debian packages those need.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
JS_CLIENT := tests/clients/js
WEB := web
WEB_STAMP := $(WEB)/dist/.built
WEB_SOURCES := $(shell find $(WEB)/src $(WEB)/public -type f 2>/dev/null) $(WEB)/index.html $(WEB)/build.mjs
DATA_DIR ?= ./kith-data

.PHONY: run test setup typecheck clean web browser-deps bytecode

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]' --config-settings editable_mode=compat
	touch $(STAMP)

$(JS_CLIENT)/node_modules/.installed: $(JS_CLIENT)/package.json $(JS_CLIENT)/package-lock.json
	cd $(JS_CLIENT) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The web messenger: built from web/ into kith/web/static/ (served by Kith at /).
$(WEB)/node_modules/.installed: $(WEB)/package.json $(WEB)/package-lock.json
	cd $(WEB) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(WEB_STAMP): $(WEB)/node_modules/.installed $(WEB)/package-lock.json $(WEB_SOURCES)
	cd $(WEB) && node build.mjs
	mkdir -p $(WEB)/dist && touch $@

web: $(WEB_STAMP)

# Debian's chromium for the browser tests (playwright-core drives it; no browser download).
browser-deps:
	@command -v chromium >/dev/null || (apt-get update && apt-get install -y --no-install-recommends chromium fonts-dejavu-core)

setup: $(STAMP)

# Kith's own modules are installed in place (editable), so pip does not compile
# them; do it here so a start reads bytecode instead of compiling ~130 modules
# (compileall skips what is up to date; it writes even under PYTHONDONTWRITEBYTECODE).
bytecode: $(STAMP)
	@$(BIN)/python -m compileall -q -j 0 kith

run: $(STAMP) $(WEB_STAMP) bytecode
	@echo
	@echo "Kith is starting on http://127.0.0.1:8008 (data in $(DATA_DIR))."
	@echo "Create your first account in another terminal:"
	@echo "    $(BIN)/kith --data-dir $(DATA_DIR) user add alice --admin"
	@echo "Invite others with a registration token (start with --registration token):"
	@echo "    $(BIN)/kith --data-dir $(DATA_DIR) invite create --uses 10 --expires 7d"
	@echo "Then point any Matrix app (Element, FluffyChat, ...) at http://127.0.0.1:8008"
	@echo
	$(BIN)/kith --data-dir $(DATA_DIR) serve $(ARGS)

test: $(STAMP) $(JS_CLIENT)/node_modules/.installed $(WEB_STAMP) browser-deps
	$(BIN)/mypy
	cd $(WEB) && node_modules/.bin/tsc --noEmit -p .
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

typecheck: $(STAMP)
	$(BIN)/mypy

clean:
	rm -rf $(VENV) $(JS_CLIENT)/node_modules .mypy_cache .pytest_cache $(WEB)/node_modules $(WEB)/dist kith/web/static

# Benchmarks (not tests: `make test` never runs them). `make bench [SIZE=S|M|L]`
# runs Kith and Synapse one after the other on loopback and writes
# bench/results/; `make bench-growth` draws the growth curves. Synapse gets its
# own venv; the load generator, matplotlib and py-spy live in another.
SIZE ?= M
GROWTH_BUDGET ?= 600
BENCH_SYNAPSE := bench/.venv-synapse
BENCH_TOOLS := bench/.venv-tools
SYNAPSE_VERSION ?= 1.163.2

.PHONY: bench bench-growth bench-setup

$(BENCH_SYNAPSE)/.installed:
	$(PYTHON) -m venv $(BENCH_SYNAPSE)
	$(BENCH_SYNAPSE)/bin/pip install --quiet --upgrade pip
	$(BENCH_SYNAPSE)/bin/pip install --quiet 'matrix-synapse==$(SYNAPSE_VERSION)'
	touch $@

$(BENCH_TOOLS)/.installed:
	$(PYTHON) -m venv $(BENCH_TOOLS)
	$(BENCH_TOOLS)/bin/pip install --quiet --upgrade pip
	$(BENCH_TOOLS)/bin/pip install --quiet aiohttp==3.14.5 matplotlib==3.11.2 py-spy==0.4.3
	touch $@

bench-setup: $(STAMP) bytecode $(BENCH_SYNAPSE)/.installed $(BENCH_TOOLS)/.installed

bench: bench-setup
	cd bench && .venv-tools/bin/python run.py --size $(SIZE) --profile

bench-growth: bench-setup
	cd bench && .venv-tools/bin/python growth.py --budget $(GROWTH_BUDGET)
