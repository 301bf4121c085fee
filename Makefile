# The two commands of the README: `make demo` and `make test`.
# Both create .venv and install the project into it on first use; `build` then compiles
# what changed of the collector's per-message modules (setup.py, Cython: the venv gets
# the setuptools and Cython that pyproject's build-system asks for).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint build clean

$(STAMP): pyproject.toml setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip 'setuptools>=77' 'cython>=3.1,<4'
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

build: $(STAMP)
	$(BIN)/python setup.py --quiet build_ext --inplace -j 2

demo: build
	$(BIN)/python -m simulator.demo

test: build
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) build *.egg-info out
	find collector -name '*.so' -delete -o -name '*.c' -delete
