# Two entry points for a fresh machine: `make demo` and `make test`.
# Both bootstrap a local virtualenv (.venv) from pyproject.toml on first use.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed

.PHONY: demo test venv clean bench

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

test: $(STAMP) $(NODE_STAMP)
	$(PY) -m pytest -q $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) bench/calibration.py

clean:
	rm -rf $(VENV) node_modules .pytest_cache build *.egg-info
