# Everything a new clone needs: `make run` and `make test` create .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench profile clean browser

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/runner run jobs/quickstart.yaml

test: $(STAMP)
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check --output-format concise runner tests examples bench
	$(BIN)/ruff format --check runner tests examples bench
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench

# Where B1's runner spends its main thread, by kind of work (py-spy): bench/profile-b1.md
profile: $(STAMP)
	$(BIN)/python -m bench.profile_b1

browser:
	bash scripts/install-browser.sh

clean:
	rm -rf $(VENV) out build *.egg-info
