# Everything a fresh machine needs is installed by these targets themselves.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
export UV_LINK_MODE := copy
PYTHON ?= python3
UV = $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
APT_PACKAGES := git bubblewrap chromium postgresql podman runc debootstrap python3-venv python3-pip
STAMP := .venv/.installed

.PHONY: install system-deps uv test check lint typecheck serve demo bench clean

install: $(STAMP)

$(STAMP): pyproject.toml uv.lock | system-deps uv
	$(UV) sync --frozen
	@touch $@

system-deps:
	@missing=""; \
	for pkg in $(APT_PACKAGES); do \
	  dpkg -s $$pkg >/dev/null 2>&1 || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "missing system packages:$$missing (install them with your package manager)"; exit 1; \
	  fi; \
	fi

uv:
	@command -v uv >/dev/null || $(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv

lint: install
	$(UV) run --no-sync ruff check app tests bench agent_image/src
	$(UV) run --no-sync ruff format --check app tests bench agent_image/src

typecheck: install
	$(UV) run --no-sync mypy

check: lint typecheck

# Two workers (CI has 2 CPUs; most test time is spent waiting on servers and subprocesses).
# loadfile keeps each test file on one worker, so module-scoped fixtures are built once.
test: check
	$(UV) run --no-sync pytest -q -p no:cacheprovider --durations=25 -rs -n 2 --dist loadfile

serve: install
	$(UV) run --no-sync aideator serve

demo: install
	$(UV) run --no-sync aideator demo

bench: install
	$(UV) run --no-sync python bench/all.py

clean:
	rm -rf .venv .mypy_cache .ruff_cache .pytest_cache .aideator
