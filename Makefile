# RecoServe developer entry points: `make run` and `make test` are all a new user needs.
VENV      ?= .venv
PYTHON    ?= python3
PY        := $(VENV)/bin/python
RECO      := $(VENV)/bin/reco
STAMP     := $(VENV)/.installed-stamp
ARTIFACTS ?= $(or $(RECO_ARTIFACTS_DIR),artifacts)

.PHONY: install run test lint fuzz bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

# Import the embedded synthetic data (idempotent), train the default model once, serve.
run: install
	$(RECO) import synthetic
	@if ls $(ARTIFACTS)/*/manifest.json >/dev/null 2>&1; then \
	  echo "using the newest bundle in $(ARTIFACTS)/"; \
	else \
	  $(RECO) train --dataset store; \
	fi
	$(VENV)/bin/reco-serve --host 127.0.0.1 --port 8000

test: install
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q

# A long schemathesis run (the short one is part of `make test`).
fuzz: install
	RECO_FUZZ_EXAMPLES=200 $(PY) -m pytest -q tests/app/test_fuzz.py

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
