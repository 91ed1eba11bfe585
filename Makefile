# Deep Probabilistic Learning — the course's commands.
#   make book                      install, then build the HTML book into _build/html
#   make test                      install, then run the whole test suite
#   make lock                      recompile requirements.txt (the lock) from requirements.in
#   DEEPPROB_SEED=k make book      the book under another base seed (its own execution cache)
#   make exercises                 regenerate exercises/ from solutions/ with nbgrader
#   make grade ASSIGNMENT=ex01_maximum_likelihood   autograde, feedback, grades.csv [JOBS=N] [VENV=env] [SCHEDULER=tcp://host:8786]
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(abspath $(VENV))/bin
STAMP := $(VENV)/.installed
ASSIGNMENT ?=
JOBS ?= 1
# grade on a Dask cluster instead: SCHEDULER=tcp://host:8786 (see the instructor guide)
SCHEDULER ?=
PYTEST_ARGS ?=
# Every chapter and benchmark derives its seeds from this base seed.
DEEPPROB_SEED ?= 0
export DEEPPROB_SEED
# jupyter-book builds the book in $(BOOK_SRC) into $(BOOK_OUT)/_build/html (a second
# seed can be built elsewhere; the tests build a one-page book that fails on purpose).
BOOK_SRC ?= .
BOOK_OUT ?= $(BOOK_SRC)

# nbgrader calls `alembic` by name: the environment's bin/ goes first on PATH.
export PATH := $(BIN):$(PATH)
# Quiet C++ start-up logs of TensorFlow; Keras 2 for tfp.layers.
export TF_CPP_MIN_LOG_LEVEL := 3
export TF_USE_LEGACY_KERAS := 1
export PYTHONHASHSEED := 0

.PHONY: help install lock system-tools-book system-tools-test vendor axe book test exercises grade student instructor clean

help:
	@echo "make book       build the HTML book (_build/html/index.html)"
	@echo "make test       run all tests"
	@echo "make lock       recompile requirements.txt from requirements.in (pip-tools)"
	@echo "make exercises  regenerate exercises/ from solutions/"
	@echo "make grade ASSIGNMENT=ex01_maximum_likelihood [JOBS=N]"
	@echo "make student    hide nbgrader's instructor tools from this user's JupyterLab (make instructor: back)"

# The environment is (re)installed when the lock or pyproject.toml change:
# exactly the packages of requirements.txt (the lock, --no-deps: nothing
# unpinned is resolved), then pip-sync removes any package the lock lacks.
PIP_QUIET := 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }
$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps -r requirements.txt $(PIP_QUIET)
	$(BIN)/pip-sync -q requirements.txt $(PIP_QUIET)
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps -e . $(PIP_QUIET)
	$(BIN)/python -m pip check
	touch $@

install: $(STAMP)

# requirements.in lists what the course asks for; requirements.txt pins every
# package that installs (pip-tools; it sees the CPU torch wheel on the machines' disk).
lock: $(STAMP)
	$(BIN)/pip-compile --quiet --no-emit-find-links --no-emit-index-url --strip-extras \
	  --allow-unsafe --output-file requirements.txt requirements.in $(PIP_QUIET)

system-tools-book:
	@bash .ci/system-tools book

system-tools-test:
	@bash .ci/system-tools test

# The ipywidgets HTML manager and RequireJS come from the npm registry at build
# time (not committed, not loaded from a CDN by readers).
VENDOR := _build/vendor
WIDGETS_JS := $(VENDOR)/widgets/embed-amd.js
HTML_MANAGER := @jupyter-widgets/html-manager@1.0.6
REQUIREJS := requirejs@2.3.7

$(WIDGETS_JS): | system-tools-book
	rm -rf $(VENDOR)/npm && mkdir -p $(VENDOR)/npm $(VENDOR)/widgets
	cd $(VENDOR)/npm && npm pack --silent $(HTML_MANAGER) $(REQUIREJS) >/dev/null
	cd $(VENDOR)/npm && for f in *.tgz; do mkdir -p "$${f%.tgz}" && tar xzf "$$f" -C "$${f%.tgz}"; done
	cp $(VENDOR)/npm/requirejs-*/package/require.js $(VENDOR)/widgets/require.js
	cd $(VENDOR)/npm/jupyter-widgets-html-manager-*/package/dist && \
	  cp embed-amd.js libembed-amd.js *.woff *.woff2 *.ttf *.eot *.svg $(abspath $(VENDOR))/widgets/
	# The manager typesets widget labels with MathJax 2's Hub.Queue; the book
	# loads MathJax 3, whose equivalent is typesetPromise.
	sed -i 's/MathJax.Hub.Queue(\["Typeset",MathJax.Hub,e\])/(MathJax.typesetPromise?MathJax.typesetPromise([e]).catch(function(){}):MathJax.Hub.Queue(["Typeset",MathJax.Hub,e]))/' \
	  $(VENDOR)/widgets/embed-amd.js $(VENDOR)/widgets/libembed-amd.js
	grep -q "MathJax.typesetPromise(\[e\])" $(VENDOR)/widgets/embed-amd.js
	rm -rf $(VENDOR)/npm

vendor: $(WIDGETS_JS)

# axe-core, the accessibility checker the browser tests inject into every page,
# also from the npm registry (pinned, not committed, never served to readers).
AXE_JS := $(VENDOR)/axe/axe.min.js
AXE_CORE := axe-core@4.10.3

$(AXE_JS): | system-tools-book
	rm -rf $(VENDOR)/axe-npm && mkdir -p $(VENDOR)/axe-npm $(VENDOR)/axe
	cd $(VENDOR)/axe-npm && npm pack --silent $(AXE_CORE) >/dev/null && tar xzf axe-core-*.tgz
	cp $(VENDOR)/axe-npm/package/axe.min.js $(VENDOR)/axe-npm/package/LICENSE $(VENDOR)/axe/
	rm -rf $(VENDOR)/axe-npm

axe: $(AXE_JS)

# Chapters are executed (and cached per base seed in _build/.jupyter_cache-seed-<k>);
# exercise pages are rendered unexecuted. Progress bars are switched off in the
# static pages. _build/book-html.zip is the whole site, readable offline once
# unpacked. A chapter that fails is named last: chapter, cell, line and error.
BOOK_BUILD := $(BOOK_OUT)/_build
book: $(STAMP) $(WIDGETS_JS)
	rm -f $(BOOK_BUILD)/execution-failures.txt
	TQDM_DISABLE=1 $(BIN)/jupyter-book build $(BOOK_SRC) --path-output $(BOOK_OUT) -W -n --keep-going \
	  || { echo; echo "make book FAILED (DEEPPROB_SEED=$(DEEPPROB_SEED))."; \
	       if [ -f $(BOOK_BUILD)/execution-failures.txt ]; then cat $(BOOK_BUILD)/execution-failures.txt; \
	       else echo "No chapter failed to execute; the Sphinx warnings above are errors under -W."; fi; exit 1; }
	rm -f $(BOOK_BUILD)/book-html.zip && cd $(BOOK_BUILD) && $(BIN)/python -m zipfile -c book-html.zip html/
	@echo "Open $(BOOK_BUILD)/html/index.html (or unpack $(BOOK_BUILD)/book-html.zip anywhere)"

# Two workers: the book build and the autograde batches run side by side; each
# test module (and class: one autograde run per assignment) stays on one worker, and
# every test of the built book runs on one worker, builds first (tests/conftest.py).
test: system-tools-test $(STAMP) $(WIDGETS_JS) $(AXE_JS)
	$(BIN)/python -m pytest -n 2 --dist loadgroup --no-loadscope-reorder $(PYTEST_ARGS)

exercises: $(STAMP)
	$(BIN)/python -m deepprob.grading colab
	$(BIN)/python -m deepprob.grading release --all

# A student's Jupyter without the instructor's tools: nbgrader's Formgrader and
# Create Assignment are switched off for this user (the Assignments list and the
# Validate button stay); `make instructor` switches them back on.
NBGRADER_INSTRUCTOR_PLUGINS := @jupyter/nbgrader:formgrader @jupyter/nbgrader:create-assignment
student: $(STAMP)
	for p in $(NBGRADER_INSTRUCTOR_PLUGINS); do $(BIN)/jupyter labextension disable --level=user "$$p"; done
	@echo "Student mode: restart JupyterLab. (make instructor undoes it.)"

instructor: $(STAMP)
	for p in $(NBGRADER_INSTRUCTOR_PLUGINS); do $(BIN)/jupyter labextension enable --level=user "$$p"; done

# `make grade VENV=/path/to/env` (or VENV=$$VIRTUAL_ENV) grades with an environment that is already set up
# (deepprob and nbgrader installed in it) and installs nothing; the default .venv is installed first.
GRADE_NEEDS := $(if $(filter $(abspath .venv),$(abspath $(VENV))),$(STAMP),)
grade: $(GRADE_NEEDS)
	@test -n "$(ASSIGNMENT)" || { echo "usage: make grade ASSIGNMENT=ex01_maximum_likelihood [JOBS=2] [VENV=/path/to/env]"; exit 2; }
	@$(BIN)/python -c "import deepprob.grading, nbgrader" 2>/dev/null || { \
	  echo "make grade: $(BIN)/python cannot import deepprob.grading and nbgrader. VENV= must name an environment"; \
	  echo "with both installed (pip install -r requirements.txt && pip install -e . in it), or leave VENV out."; exit 2; }
	$(BIN)/python -m deepprob.grading grade $(ASSIGNMENT) --jobs $(JOBS) $(if $(SCHEDULER),--scheduler $(SCHEDULER),)

clean:
	rm -rf _build
