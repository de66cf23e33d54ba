# FoodVision: `make run` starts the app, `make test` runs every test. Both set themselves up.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
VENDOR := frontend/static/vendor/.fetched
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: run test lint format bench fuzz soak install demo chromium vendor

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -e ".[test,dev]"
	touch $(STAMP)

$(VENDOR): frontend/vendor.json | $(STAMP)
	$(PY) -m frontend.vendor
	touch $(VENDOR)

install: $(STAMP) $(VENDOR)

vendor: $(VENDOR)

demo: $(STAMP)
	$(PY) -m food_vision.cli datasets --prepare demo

run: install demo
	$(VENV)/bin/foodvision serve --host $(HOST) --port $(PORT)

# Browser tests drive Debian's chromium; install it when running as root and it is missing.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "chromium is missing: install Debian's 'chromium' package"; exit 1; fi; }

test: install chromium
	$(PY) -m pytest $(PYTEST_ARGS)

soak: $(STAMP)
	$(PY) bench/soak.py --minutes $${SOAK_MINUTES:-10}

fuzz: install
	FOODVISION_FUZZ_EXAMPLES=$${FOODVISION_FUZZ_EXAMPLES:-300} $(PY) -m pytest tests/integration/test_fuzz_openapi.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(STAMP)
	$(PY) -m pip install -q -e ".[bench]"
	$(PY) bench/run_all.py $(BENCH_ARGS)
