# FoodVision: `make run` starts the app, `make test` runs every test. Both set themselves up.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
VENDOR := frontend/static/vendor/.fetched
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: run run-flask test lint format bench fuzz soak install demo chromium vendor screenshots

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

run-flask: install demo
	$(VENV)/bin/foodvision serve --host $(HOST) --port $(PORT) --framework flask

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

# Container image with docker or podman, whichever answers (or ENGINE=...). Air-gapped:
# `make wheelhouse` where the package indexes are reachable, then
# `make image BASE_IMAGE=<a local python:3.11 image> WHEELHOUSE=wheelhouse` builds with no network.
# `make image-test` builds, then smoke-tests a running container (tests/container/README.md).
.PHONY: image image-test wheelhouse engine
IMAGE ?= foodvision
ENGINE ?= $(shell for engine in docker podman; do \
	$$engine info >/dev/null 2>&1 && { echo $$engine; break; }; done)
BASE_IMAGE ?=
WHEELHOUSE ?=
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
IMAGE_BUILD_FLAGS = $(if $(filter podman,$(ENGINE)),--format docker) \
	$(if $(BASE_IMAGE),--build-arg BASE_IMAGE=$(BASE_IMAGE)) \
	$(if $(WHEELHOUSE),--network none --build-arg WHEELHOUSE=$(WHEELHOUSE)) \
	--build-arg TORCH_INDEX=$(TORCH_INDEX)

engine:
	@test -n "$(ENGINE)" || { echo "neither docker nor podman answers: install one, or set ENGINE"; exit 1; }

image: engine
	@test -z "$(WHEELHOUSE)" || test -d "./$(WHEELHOUSE)" || { echo "WHEELHOUSE=$(WHEELHOUSE) \
	is no folder inside this checkout (the build context): make wheelhouse fills ./wheelhouse"; exit 1; }
	$(ENGINE) build $(IMAGE_BUILD_FLAGS) -t $(IMAGE) .

image-test: image $(STAMP)
	FOODVISION_IMAGE=$(IMAGE) CONTAINER_ENGINE=$(ENGINE) $(PY) -m pytest -v -p no:cacheprovider tests/container

# Every wheel the image needs, binary only so the image compiles nothing (torch from TORCH_INDEX,
# CPU by default; TORCH_INDEX= for the environment's own index alone), and the htmx tarballs.
wheelhouse: $(STAMP)
	$(PY) -m pip download --only-binary :all: --dest $(or $(WHEELHOUSE),wheelhouse) \
	  $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX)) . "setuptools>=68"
	$(PY) -m frontend.vendor --pack-into $(or $(WHEELHOUSE),wheelhouse)

# The README's screenshots, from the browser test that makes them (desktop and phone width).
screenshots: install
	$(PY) -m pytest -q tests/e2e/test_readme_screenshots.py
	cp test-output/e2e/readme-desktop.png docs/screenshot.png
	cp test-output/e2e/readme-phone.png docs/screenshot-phone.png
