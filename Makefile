# Two entry points for a fresh clone with only Python 3.11+ and make:
#   make demo   -- the whole story against a throw-away local QuickBooks sandbox
#   make test   -- lint, type-check and the test suite (what CI runs)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: test demo lint typecheck pytest bench docs soak reliability clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "invoicesync needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the project's metadata changes, so the second run is fast.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts

typecheck: $(STAMP)
	$(BIN)/mypy --strict src

# pytest-xdist workers: twice the cores, because the suite mostly waits (sandbox latency, CLI
# subprocesses, kills waiting for their moment); `make test PYTEST_WORKERS=0` runs it serially.
PYTEST_WORKERS ?= $(shell $(PYTHON) -c 'import os; print(2 * (os.cpu_count() or 1))')
# worksteal: an idle worker takes queued tests from a busy one, so the long reliability tests
# do not leave one worker finishing alone.
XDIST = -n $(PYTEST_WORKERS) --dist worksteal

pytest: $(STAMP) node-drivers
	$(BIN)/pytest $(XDIST) $(PYTEST_ARGS)

test: lint typecheck pytest

demo: $(STAMP)
	$(BIN)/invoicesync demo

# The reliability suite alone, and its long form (more seeds, more invoices).
reliability: $(STAMP)
	$(BIN)/pytest $(XDIST) tests/reliability $(PYTEST_ARGS)

soak: $(STAMP)
	INVOICESYNC_SOAK=1 $(BIN)/pytest $(XDIST) tests/reliability -q --durations=10 $(PYTEST_ARGS)

docs: $(STAMP)
	$(BIN)/python scripts/command_reference.py

# The Node.js QuickBooks clients tests/sandbox/test_ecosystems.py drives, installed from the
# committed lock file when npm is present (again only when the lock file changes); without
# npm those tests are skipped and say why.
NODE_DRIVERS := tests/sandbox/ecosystems/node
.PHONY: node-drivers
node-drivers:
	@if ! command -v npm >/dev/null 2>&1; then \
	  echo "npm not found: the Node.js client tests (tests/sandbox/test_ecosystems.py) will be skipped"; \
	elif [ ! $(NODE_DRIVERS)/node_modules/.package-lock.json -nt $(NODE_DRIVERS)/package-lock.json ]; then \
	  cd $(NODE_DRIVERS) && npm ci --no-audit --no-fund --loglevel=error; \
	fi

bench: $(STAMP)
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache
