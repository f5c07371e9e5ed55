# The two commands a newcomer runs: `make demo` and `make test` (README.md).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test test-resilience install install-test browser-deps lint serve clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

## demo: install, migrate, seed the small demo if the database is empty, serve on 127.0.0.1:8000
demo: install
	$(BIN)/gridgov migrate --noinput
	$(BIN)/gridgov seed_demo --scale small --if-empty
	$(BIN)/gridgov rebuild_rollups --days 400 --quiet  # the dashboards' history (the seed builds a week)
	DEBUG=1 $(BIN)/gridgov runserver $(HOST):$(PORT)

## test: install the test dependencies and run the whole suite
test: install-test browser-deps
	$(BIN)/pytest

## test-resilience: crash safety on a throwaway PostgreSQL cluster of its own (immediate stop, killed
## gunicorn workers; needs root or the postgres user and PostgreSQL's server binaries; ~3 min)
test-resilience: install-test
	GRIDGOV_RESILIENCE=1 $(BIN)/pytest tests/resilience -s

## Debian's chromium and CJK fonts for the browser tests, nginx with the RTMP module and ffmpeg for
## the video tests (needs root and apt; skipped where unavailable, and then those tests skip
## themselves — except in CI, where they must run).
SYSTEM_PACKAGES := chromium fonts-noto-cjk nginx libnginx-mod-rtmp ffmpeg
browser-deps:
	@{ command -v chromium && command -v ffmpeg && test -e /usr/lib/nginx/modules/ngx_rtmp_module.so; } >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES); \
	  else echo "chromium/nginx/ffmpeg not installed: browser and video tests will be skipped"; fi; }

lint: install-test
	$(BIN)/ruff check .

## serve: production-style server (gunicorn, DEBUG off)
serve: install
	$(BIN)/gridgov migrate --noinput
	$(BIN)/gunicorn gridgov.wsgi --bind $(HOST):$(PORT) --workers 2

clean:
	rm -rf $(VENV) var/gridgov.sqlite3*
