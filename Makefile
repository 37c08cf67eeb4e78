# Two commands do everything on a fresh machine: `make evidence` and `make test`.
# Both create the virtual environment at .venv/ on first use, from the pinned requirements.lock.

PYTHON ?= python3.11
VENV := .venv
STAMP := $(VENV)/.installed

SYSTEM := $(VENV)/.system-deps

.PHONY: evidence test check lock help mutation

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || bash .ci/system-deps
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (Python 3.11 is required)"; exit 1; }
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

# Debian packages: Chromium for the browser journeys (never downloaded by a tool).
$(SYSTEM): $(STAMP) .ci/browser
	bash .ci/browser
	touch $(SYSTEM)

evidence: $(STAMP) $(SYSTEM) ## regenerate every evidence file and render the ADR
	$(VENV)/bin/blastpay evidence

# PostgreSQL for the race tests: a throwaway loopback cluster unless DATABASE_URL_POSTGRES is already set.
test: $(STAMP) $(SYSTEM) ## run the whole test suite (includes the freshness check and the notebooks)
	@if [ -z "$$DATABASE_URL_POSTGRES" ]; then eval "$$(bash .ci/postgres)"; fi; \
	  echo "DATABASE_URL_POSTGRES=$$DATABASE_URL_POSTGRES"; \
	  $(VENV)/bin/python -m pytest

check: $(STAMP) $(SYSTEM) ## only the freshness check: is the committed evidence what the code produces?
	$(VENV)/bin/blastpay check

# Mutants of each module in mutation/modules.toml against that module's tests; the score per module (README).
mutation: $(STAMP) ## mutation testing: a score per module, survivors listed (see README for its time)
	$(VENV)/bin/python mutation/run.py

lock: ## re-pin dependencies after editing pyproject.toml (needs network to the package index)
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet -e '.[test]' && .lock-venv/bin/pip freeze --exclude-editable > requirements.lock
	rm -rf .lock-venv
