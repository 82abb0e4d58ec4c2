# tfser - every target sets itself up: `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR ?= build/demo
PYTEST_ARGS ?=

.PHONY: venv test test-all demo clean

venv: $(STAMP)

# Reinstall when the pins or the package metadata change.
$(STAMP): setup.py requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[test]"
	touch $(STAMP)

test: venv
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Includes the long runs behind the `slow` marker.
test-all: venv
	$(BIN)/python -m pytest -m "slow or not slow" $(PYTEST_ARGS)

demo: venv
	$(BIN)/tfser-demo --out=$(DEMO_DIR)

clean:
	rm -rf build .pytest_cache
