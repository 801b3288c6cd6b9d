# Kith: `make run` starts a server, `make test` runs the whole test suite.
# Both set themselves up: a virtualenv in .venv, the node packages the client
# tests use, and the Debian packages those need.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
JS_CLIENT := tests/clients/js
DATA_DIR ?= ./kith-data

.PHONY: run test setup typecheck clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

$(JS_CLIENT)/node_modules/.installed: $(JS_CLIENT)/package.json $(JS_CLIENT)/package-lock.json
	cd $(JS_CLIENT) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(STAMP)

run: $(STAMP)
	@echo
	@echo "Kith is starting on http://127.0.0.1:8008 (data in $(DATA_DIR))."
	@echo "Create your first account in another terminal:"
	@echo "    $(BIN)/kith --data-dir $(DATA_DIR) user add alice --admin"
	@echo "Invite others with a registration token (start with --registration token):"
	@echo "    $(BIN)/kith --data-dir $(DATA_DIR) invite create --uses 10 --expires 7d"
	@echo "Then point any Matrix app (Element, FluffyChat, ...) at http://127.0.0.1:8008"
	@echo
	$(BIN)/kith --data-dir $(DATA_DIR) serve $(ARGS)

test: $(STAMP) $(JS_CLIENT)/node_modules/.installed
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

typecheck: $(STAMP)
	$(BIN)/mypy

clean:
	rm -rf $(VENV) $(JS_CLIENT)/node_modules .mypy_cache .pytest_cache
