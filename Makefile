# `make demo` and `make test` build .venv themselves; nothing needs to be pre-installed
# beyond Python 3.11, pip, make and gcc.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DATA   ?= data

export NUMBA_CACHE_DIR ?= $(CURDIR)/.cache/numba
export CLARITY_DATA_DIR ?= $(DATA)

.PHONY: venv demo test test-faults bench docs clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m pip install --quiet --no-deps tinysoundfont
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m ngn_clarity.cli demo --data-dir $(DATA)

test: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/mypy
	$(PY) -m pytest -q -m "not slow"

# the whole fault-injection suite: 20 kill -9 trials, a full tmpfs, chattr +i, two writers
test-faults: $(STAMP)
	$(PY) -m pytest -q tests/test_faults.py

bench: $(STAMP)
	$(PY) benchmarks/loudness.py
	$(PY) benchmarks/synth.py
	$(PY) benchmarks/features.py
	$(PY) benchmarks/pipeline.py --scale

docs: $(STAMP)
	$(PY) -c "from ngn_clarity.features.schema import markdown; print(markdown(), end='')" > docs/features.md

clean:
	rm -rf $(VENV) .cache .pytest_cache
