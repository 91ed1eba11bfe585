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

.PHONY: help install book test exercises grade clean

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

# Chapters are executed (and cached in _build/.jupyter_cache); exercise pages are
# rendered unexecuted. Progress bars are switched off in the static pages.
book: $(STAMP)
	TQDM_DISABLE=1 $(BIN)/jupyter-book build . -W -n --keep-going
	@echo "Open _build/html/index.html"

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

exercises: $(STAMP)
	$(BIN)/python -m deepprob.grading release --all

grade: $(STAMP)
	@test -n "$(ASSIGNMENT)" || { echo "usage: make grade ASSIGNMENT=ex01_maximum_likelihood"; exit 2; }
	$(BIN)/python -m deepprob.grading grade $(ASSIGNMENT) --jobs $(JOBS)

clean:
	rm -rf _build
