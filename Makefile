# Mixillo Live. `make serve` runs the service; `make test` installs what the tests need and runs them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP     := $(VENV)/.dev-installed

.PHONY: serve test lint bench system-deps web clean help migrate seed-demo

help:
	@echo "make serve      run the service on http://127.0.0.1:8080 (SQLite in ./var)"
	@echo "make test       install test dependencies (Debian packages too) and run the test suite"
	@echo "make lint       ruff and mypy"
	@echo "make bench      list the benchmarks"
	@echo "make seed-demo  add demo users and catalogs"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(RUNTIME_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(RUNTIME_STAMP) $@

# The console needs hls.js and socket.io-client from npm; without npm the service still runs (WebRTC, API).
serve: $(RUNTIME_STAMP)
	@if command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory web; \
	  else echo "npm not found: the console's browser libraries (hls.js, socket.io-client) are not built; the API works"; fi
	$(BIN)/mixillo serve

migrate: $(RUNTIME_STAMP)
	$(BIN)/mixillo migrate

seed-demo: $(RUNTIME_STAMP)
	$(BIN)/mixillo seed-demo

system-deps:
	bash scripts/system-deps.sh

# The official JavaScript socket.io-client for tests/live/test_js_client.py (npm registry at install only).
LIVE_JS := tests/live/js/node_modules/.package-lock.json
$(LIVE_JS): tests/live/js/package.json tests/live/js/package-lock.json
	cd tests/live/js && npm ci --no-audit --no-fund

# hls.js and socket.io-client come from npm (web/package.json) and are served from web/static/vendor/.
WEB_VENDOR := web/static/vendor/hls.min.js
WEB_SOCKETIO := web/static/vendor/socket.io.esm.min.js
web: $(WEB_VENDOR) $(WEB_SOCKETIO)

$(WEB_VENDOR): web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	mkdir -p web/static/vendor
	cp web/node_modules/hls.js/dist/hls.min.js $@

$(WEB_SOCKETIO): $(WEB_VENDOR)
	cp web/node_modules/socket.io-client/dist/socket.io.esm.min.js $@

test: system-deps $(DEV_STAMP) web $(LIVE_JS)
	$(BIN)/python -m tests.harness

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: $(DEV_STAMP)
	@$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
