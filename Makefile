# Two commands for a newcomer: `make run` starts the whole system, `make test` passes the tests.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup run test test-core ros clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml scripts/setup-system.sh
	bash scripts/setup-system.sh
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

run: setup
	$(BIN)/wcs run

ros: setup
	bash scripts/setup-ros.sh

test: setup ros
	$(BIN)/python -m pytest -q -p no:cacheprovider

test-core: setup
	$(BIN)/python -m pytest -q -p no:cacheprovider -m "not ros"

clean:
	rm -rf $(VENV) .ros-venv ros_ws/build ros_ws/install ros_ws/log data artifacts
