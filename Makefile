# lain's developer entry points.  On a fresh clone `make test` or `make demo` alone is enough:
# each first runs the setup it needs (the .venv, the pinned helm and kubectl).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HELM_MAJOR ?= 3
PYTEST_WORKERS ?= 2

.PHONY: setup k8s test test-unit test-e2e lint bench docs demo clean

setup: $(VENV)/.installed
	$(BIN)/python tools/install_binaries.py --venv $(VENV) --default-major $(HELM_MAJOR)
	touch $(VENV)/.tools
	@$(BIN)/helm version --short && $(BIN)/kubectl version --client | head -1

# What test, demo and bench need besides the .venv: the pinned helm/kubectl pairs, installed once
# (`make setup` reinstalls, relinks the default pair and re-stamps).
$(VENV)/.tools: $(VENV)/.installed tools/install_binaries.py
	$(BIN)/python tools/install_binaries.py --venv $(VENV) --default-major $(HELM_MAJOR)
	touch $@

# The real Kubernetes control plane for the e2e tests (kube-apiserver, controller-manager,
# scheduler, etcd, kwok, kwokctl), built with Go from the pinned modules in tools/k8s/
# into .venv/tools/k8s-<version>/.  A second run with nothing changed does nothing.
k8s: $(VENV)/.installed
	$(BIN)/python tools/build_k8s.py --venv $(VENV)

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,docs]'
	touch $@

# The whole suite: lint, unit and chart tests and e2e against helm 3, then the e2e
# tests again against helm 4 (both pairs are installed side by side by `make setup`).
# Every e2e test runs on the simulator and, once `make k8s` has built it, on the real
# control plane; without it those are skipped and the summary line says so.
# LAIN_E2E_REQUIRE_KWOK=1 (CI) turns that skip into a failure.
# with_helm = the environment that makes lain, the tests and the fixtures use helm/kubectl major $(1)
with_helm = PATH="$(CURDIR)/$(VENV)/tools/helm$(1):$(CURDIR)/$(BIN):$$PATH" LAIN_TEST_HELM_MAJOR=$(1) \
	LAIN_HELM="$(CURDIR)/$(VENV)/tools/helm$(1)/helm" LAIN_KUBECTL="$(CURDIR)/$(VENV)/tools/helm$(1)/kubectl"

# lain's modules byte-compiled first, as an installed lain has them: with
# PYTHONDONTWRITEBYTECODE=1 in the environment every lain the tests start would
# otherwise compile them again (some 90 ms each).
compile_lain = $(BIN)/python -m compileall -q lain_cli >/dev/null

test: lint $(VENV)/.tools
	$(compile_lain)
	$(call with_helm,3) $(BIN)/python -m pytest -n $(PYTEST_WORKERS) -q
	$(call with_helm,4) $(BIN)/python -m pytest -n $(PYTEST_WORKERS) -q -m e2e

test-unit: $(VENV)/.tools
	$(BIN)/python -m pytest -q -m 'not e2e'

test-e2e: $(VENV)/.tools
	$(compile_lain)
	$(call with_helm,$(HELM_MAJOR)) $(BIN)/python -m pytest -n $(PYTEST_WORKERS) -q -m e2e

lint: $(VENV)/.installed
	$(BIN)/ruff check lain_cli tests bench tools
	$(BIN)/mypy

bench: $(VENV)/.tools
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m bench

# lain deploys examples/dummy to tests/kubesim, a simulated cluster started for the demo
# and stopped after it: deploy, status, a second deploy, history, rollback.
# CLUSTER=kwok: the same on the real control plane (`make k8s` first).
CLUSTER ?= kubesim
demo: $(VENV)/.tools
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python tools/demo.py --cluster $(CLUSTER)

docs: $(VENV)/.installed
	$(BIN)/sphinx-build -W --keep-going -q -b html docs docs/_build/html

clean:
	rm -rf docs/_build .pytest_cache
