# Topicscope: `make run` starts the app, `make test` runs every quality gate and the test suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

export QT_QPA_PLATFORM ?= offscreen

.PHONY: install run test lint pytest kafka-jars bench screenshots package package-check clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	QT_QPA_PLATFORM= $(PY) -m desktop --local

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

kafka-jars: install
	$(PY) -m tests.kafka.classpath

pytest: install kafka-jars
	$(VENV)/bin/pytest

test: lint pytest

screenshots: install
	$(PY) -m desktop.tools.screenshots docs/screenshots

package: install
	bash packaging/build.sh

package-check: install
	bash packaging/check.sh

bench: install kafka-jars
	for b in broker groups gui package; do $(PY) -m bench.$$b || exit 1; done

clean:
	rm -rf build dist .mypy_cache .pytest_cache .ruff_cache
