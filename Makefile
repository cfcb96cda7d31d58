# Two commands do all set-up on a fresh machine:
#   make run    create .venv, install, serve http://$(GDVIZ_HOST):$(GDVIZ_PORT)
#   make test   the same set-up plus test needs (Chromium included), then lint and the whole suite
# Both are idempotent: stamps in .venv skip work already done.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
# The CPU build, installed first and pinned, so pip never resolves a multi-GB CUDA build of torch.
TORCH_VERSION := 2.13.0
TORCH_INDEX ?=
CHROMIUM ?= /usr/bin/chromium
# axe-core for the accessibility tests (tests/browser/test_axe.py), from the npm registry, pinned
AXE_VERSION := 4.11.0
AXE := $(VENV)/axe/node_modules/axe-core/axe.min.js

.PHONY: run test fuzz test-docker lint format bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PIP) install --quiet "torch==$(TORCH_VERSION)" $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.test-installed: $(VENV)/.installed pyproject.toml
	$(PIP) install --quiet -e ".[test]"
	@# Debian packages the tests use: Chromium (browser tests), nginx (the proxy test), a CJK font (Chinese
	@# screenshots). Installed when missing and when we may (root with apt); else Playwright's own Chromium.
	@missing=""; \
	[ -x "$(CHROMIUM)" ] || missing="$$missing chromium"; \
	command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing="$$missing nginx"; \
	[ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || missing="$$missing fonts-wqy-microhei"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing$$missing (apt-get)"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		elif [ ! -x "$(CHROMIUM)" ]; then \
			echo "no $(CHROMIUM): trying playwright's own Chromium"; $(PY) -m playwright install chromium; \
		fi; \
	fi
	touch $@

$(AXE): | $(PY)
	@command -v npm >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; }
	npm install --silent --no-audit --no-fund --no-save --prefix $(VENV)/axe axe-core@$(AXE_VERSION)
	touch $@

run: $(VENV)/.installed
	$(PY) -m app

lint: $(VENV)/.test-installed
	$(VENV)/bin/ruff check app tests bench
	$(VENV)/bin/ruff format --check app tests bench

format: $(VENV)/.test-installed
	$(VENV)/bin/ruff format app tests bench
	$(VENV)/bin/ruff check --fix app tests bench

test: lint $(AXE)
	$(PY) -m pytest

# tests/test_fuzz.py at 8x the examples `make test` runs (2 600): 20 800; it fails if fewer than 20 000 ran to
# the end. A test may take 8x its usual time too: 30 min each before pytest-timeout calls it a hang.
fuzz: $(VENV)/.test-installed
	GDVIZ_FUZZ_SCALE=8 GDVIZ_FUZZ_MIN_EXAMPLES=20000 $(PY) -m pytest tests/test_fuzz.py --timeout=1800

# Build the image and run it (starts a Docker daemon and makes a local base image if it has to).
test-docker: $(VENV)/.test-installed
	@command -v dockerd >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io debootstrap >/dev/null; }
	GDVIZ_TEST_DOCKER=1 $(PY) -m pytest tests/docker -p no:cacheprovider

bench: $(VENV)/.test-installed  ## every benchmark in bench/, one after another (~9 min; run on a quiet machine)
	$(PY) bench/engine.py
	$(PY) bench/latency.py
	$(PY) bench/load.py
	$(PY) bench/load.py --speed 150
	$(PY) bench/load.py --trainings 8
	$(PY) bench/cost.py
	$(PY) bench/rest_pool.py
	$(PY) bench/abuse.py
	$(PY) bench/browser_fps.py
	$(PY) bench/cnn.py
	$(PY) bench/landscape.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-results
