# Two commands do everything on a fresh machine: `make evidence` and `make test`.
# Both create the virtual environment at .venv/ on first use, from the hashed locks: requirements.lock (what
# `blastpay` needs at run time) for both, and requirements-test.lock (the test, bench and dev extras) for `make test`.

PYTHON ?= python3.11
VENV := .venv
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
PIP := $(VENV)/bin/python -m pip --quiet --disable-pip-version-check
UV_VERSION := 0.13.9
LOCK_FLAGS := --universal --python-version 3.11.5 --generate-hashes --no-header --quiet

SYSTEM := $(VENV)/.system-deps

.PHONY: evidence test lint check lock help mutation

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || bash .ci/system-deps
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (Python 3.11 is required)"; exit 1; }
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --require-hashes -r requirements.lock
	$(PIP) install --no-deps -e .
	touch $(STAMP)

$(TEST_STAMP): $(STAMP) requirements-test.lock
	$(PIP) install --require-hashes -r requirements.lock -r requirements-test.lock
	touch $(TEST_STAMP)

# Debian packages: Chromium for the browser journeys (never downloaded by a tool). Without root outside CI, what
# cannot be installed is reported and the tests that need it skip.
$(SYSTEM): $(STAMP) .ci/browser
	bash .ci/browser
	touch $(SYSTEM)

evidence: $(STAMP) $(SYSTEM) ## regenerate the evidence whose inputs or code changed (blastpay evidence --force: all), render the ADR
	$(VENV)/bin/blastpay evidence

lint: $(TEST_STAMP) ## ruff (defects and import order) and mypy over the package
	$(VENV)/bin/ruff check
	$(VENV)/bin/mypy

# PostgreSQL for the race tests: a throwaway loopback cluster unless DATABASE_URL_POSTGRES is already set.
test: $(TEST_STAMP) $(SYSTEM) lint ## run the whole test suite (lint first; includes the freshness check and the notebooks)
	@if [ -z "$$DATABASE_URL_POSTGRES" ]; then pg="$$(bash .ci/postgres)" || exit 1; eval "$$pg"; fi; \
	  echo "DATABASE_URL_POSTGRES=$${DATABASE_URL_POSTGRES:-none: the PostgreSQL race tests skip}"; \
	  $(VENV)/bin/python -m pytest

check: $(STAMP) $(SYSTEM) ## only the freshness check: is the committed evidence what the code produces?
	$(VENV)/bin/blastpay check

# Mutants of each module in mutation/modules.toml against that module's tests; the score per module (README).
mutation: $(TEST_STAMP) ## mutation testing: a score per module, survivors listed (see README for its time)
	$(VENV)/bin/python mutation/run.py

# Re-pin after editing pyproject.toml (needs the package index). Versions already in a lock stay where they are
# unless the new requirements need otherwise; delete a line of a lock to let that package move.
lock: ## re-pin requirements.lock and requirements-test.lock (with hashes) from pyproject.toml
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	.lock-venv/bin/uv pip compile pyproject.toml $(LOCK_FLAGS) -o requirements.lock
	.lock-venv/bin/uv pip compile pyproject.toml --extra test --extra bench --extra dev $(LOCK_FLAGS) \
	  -c requirements.lock $$(sed -n 's/^\([A-Za-z0-9_.-]*\)==.*/--no-emit-package \1/p' requirements.lock) \
	  -o requirements-test.lock
	rm -rf .lock-venv
