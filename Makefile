# Two commands on a fresh machine:  `make run`  and  `make test`  (see README.md).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SCENARIO ?= scenarios/london-2017-final.yaml
export SITING_DATA_DIR ?= $(if $(wildcard ../shared/data/london),$(abspath ../shared/data/london),$(abspath data))

.PHONY: install run test lint check browser clean

$(BIN)/siting: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

install: $(BIN)/siting

run: install
	@test -f "$(SITING_DATA_DIR)/boundaries/london_wards_2014_citymerged.geojson" || $(BIN)/siting data fetch --data-dir "$(SITING_DATA_DIR)"
	$(BIN)/siting run $(SCENARIO)

browser:
	bash scripts/install-browser.sh

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

# Each scenario's coverage constraints (exit 1 names what breaks).
check: install
	$(BIN)/siting -q check scenarios/*.yaml

test: install browser lint
	$(BIN)/pytest
	$(MAKE) check

clean:
	rm -rf $(VENV) .cache out maps/*.html
