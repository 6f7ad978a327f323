# carbonhub — every setup step a reader would otherwise do by hand lives here.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: demo serve test lint typecheck imports pytest browser supergraph bench clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "carbonhub needs Python 3.11 or newer; set PYTHON=python3.11 (or newer)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(DEV_STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@ $(STAMP)

demo: $(STAMP)
	$(BIN)/carbonhub demo

serve: $(STAMP)
	$(BIN)/carbonhub serve

test: lint typecheck imports pytest

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

imports: $(DEV_STAMP)
	$(BIN)/lint-imports

pytest: $(DEV_STAMP) browser supergraph
	$(BIN)/pytest

# The browser test drives Debian's chromium (playwright never downloads one). Installed when
# missing and apt-get is at hand; otherwise that test skips, or fails under CI=true.
CHROMIUM := /usr/bin/chromium
browser:
	@if [ ! -x $(CHROMIUM) ] && command -v apt-get >/dev/null; then \
	  apt=$$([ "$$(id -u)" = 0 ] || echo sudo) ; apt="$$apt env DEBIAN_FRONTEND=noninteractive apt-get"; \
	  echo "installing chromium for the browser test"; \
	  $$apt install -y -qq chromium || { $$apt update -qq && $$apt install -y -qq chromium; } \
	    || echo "could not install chromium: the browser test will skip (and fail under CI=true)"; \
	fi

# The federation tests (tests/federation) compose carbonhub with Apollo's tools and query it
# through a real gateway: Node.js packages pinned by infra/supergraph/package-lock.json,
# installed again only when it changes. Without npm those tests skip (and fail under CI=true).
SUPERGRAPH := infra/supergraph
SUPERGRAPH_STAMP := $(SUPERGRAPH)/node_modules/.installed
supergraph:
	@if command -v npm >/dev/null; then \
	  $(MAKE) --no-print-directory --silent $(SUPERGRAPH_STAMP) \
	    || echo "could not install $(SUPERGRAPH)'s packages: the federation tests will skip (and fail under CI=true)"; \
	else \
	  echo "npm not found: the federation tests will skip (and fail under CI=true)"; \
	fi

$(SUPERGRAPH_STAMP): $(SUPERGRAPH)/package.json $(SUPERGRAPH)/package-lock.json
	@echo "installing the federation tests' Node.js packages ($(SUPERGRAPH))"
	cd $(SUPERGRAPH) && npm ci --no-audit --no-fund --ignore-scripts
	@touch $@

bench: $(STAMP)
	$(BIN)/python -m bench.posting
	$(BIN)/python -m bench.region_report
	$(BIN)/python -m bench.reports
	$(BIN)/python -m bench.auth
	$(BIN)/python -m bench.sync
	$(BIN)/python -m bench.entities
	$(BIN)/python -m bench.telemetry

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis $(SUPERGRAPH)/node_modules
