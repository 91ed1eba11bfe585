# Deep Probabilistic Learning — the course's commands.
#   make book                      install, then build the HTML book into _build/html
#   make test                      install, then run the whole test suite
#   make exercises                 regenerate exercises/ from solutions/ with nbgrader
#   make grade ASSIGNMENT=ex01_maximum_likelihood   autograde, feedback, grades.csv
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(abspath $(VENV))/bin
STAMP := $(VENV)/.installed
ASSIGNMENT ?=
JOBS ?= 1
PYTEST_ARGS ?=

# nbgrader calls `alembic` by name: the environment's bin/ goes first on PATH.
export PATH := $(BIN):$(PATH)
# Quiet C++ start-up logs of TensorFlow; Keras 2 for tfp.layers.
export TF_CPP_MIN_LOG_LEVEL := 3
export TF_USE_LEGACY_KERAS := 1
export PYTHONHASHSEED := 0

.PHONY: help install vendor book test exercises grade clean

help:
	@echo "make book       build the HTML book (_build/html/index.html)"
	@echo "make test       run all tests"
	@echo "make exercises  regenerate exercises/ from solutions/"
	@echo "make grade ASSIGNMENT=ex01_maximum_likelihood [JOBS=N]"

# The environment is (re)installed when requirements.txt or pyproject.toml change.
$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements.txt 2>&1 \
	  | { grep -v "is ignored: it is neither a file nor a directory" || true; }
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps -e . 2>&1 \
	  | { grep -v "is ignored: it is neither a file nor a directory" || true; }
	touch $@

install: $(STAMP)

# The ipywidgets HTML manager and RequireJS come from the npm registry at build
# time (not committed, not loaded from a CDN by readers).
VENDOR := _build/vendor
WIDGETS_JS := $(VENDOR)/widgets/embed-amd.js
HTML_MANAGER := @jupyter-widgets/html-manager@1.0.6
REQUIREJS := requirejs@2.3.7

$(WIDGETS_JS):
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

# Chapters are executed (and cached in _build/.jupyter_cache); exercise pages are
# rendered unexecuted. Progress bars are switched off in the static pages.
# _build/book-html.zip is the whole site, readable offline once unpacked.
book: $(STAMP) $(WIDGETS_JS)
	TQDM_DISABLE=1 $(BIN)/jupyter-book build . -W -n --keep-going
	rm -f _build/book-html.zip && cd _build && $(BIN)/python -m zipfile -c book-html.zip html/
	@echo "Open _build/html/index.html (or unpack _build/book-html.zip anywhere)"

# Two workers: the book build and the autograde batches run side by side; each
# test module stays on one worker (the grading contract grades all cases of an
# assignment in one autograde run).
test: $(STAMP) $(WIDGETS_JS)
	$(BIN)/python -m pytest -n 2 --dist loadscope $(PYTEST_ARGS)

exercises: $(STAMP)
	$(BIN)/python -m deepprob.grading release --all

grade: $(STAMP)
	@test -n "$(ASSIGNMENT)" || { echo "usage: make grade ASSIGNMENT=ex01_maximum_likelihood"; exit 2; }
	$(BIN)/python -m deepprob.grading grade $(ASSIGNMENT) --jobs $(JOBS)

clean:
	rm -rf _build
