# FoodVision: CPU torch, a non-root user, /data as the volume, a health check on /healthz.
#   docker build -t foodvision .
#   docker run -p 8000:8000 -v foodvision-data:/data -e FOODVISION_TOKEN=change-me foodvision
# Air-gapped (nothing fetched): a base image the site has, and every package from a wheelhouse
# folder inside the build context (`make wheelhouse` fills one):
#   docker build --network none --build-arg BASE_IMAGE=registry.example/python:3.11-slim \
#     --build-arg WHEELHOUSE=wheelhouse -t foodvision .
# The base image needs python3 with its venv module, `useradd`, and (without a wheelhouse) apt.
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS build
ARG WHEELHOUSE=
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md ./
COPY food_vision food_vision
COPY backend backend
COPY frontend frontend
# The htmx files go into frontend/static/vendor/ before `pip install .` packages that folder.
# The wheelhouse is mounted, not copied: its gigabytes never become a layer.
RUN --mount=type=bind,source=./${WHEELHOUSE},target=/wheelhouse \
    if [ -n "$WHEELHOUSE" ]; then \
        python -m frontend.vendor --from /wheelhouse \
        && pip install --no-index --find-links /wheelhouse . ; \
    else \
        apt-get update \
        && apt-get install -y --no-install-recommends npm \
        && python -m frontend.vendor \
        && pip install --index-url "$TORCH_INDEX" "torch>=2.3,<3" "torchvision>=0.18,<1" \
        && pip install . ; \
    fi

FROM ${BASE_IMAGE}
RUN useradd --create-home --uid 10001 foodvision \
    && mkdir -p /data \
    && chown foodvision /data
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    FOODVISION_HOME=/data \
    FOODVISION_DATA_DIR=/data/datasets \
    TORCH_HOME=/data/torch
WORKDIR /data
VOLUME ["/data"]
USER foodvision
EXPOSE 8000
# Python's own urllib: the image needs no curl or wget for its health check.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]
CMD ["foodvision", "serve", "--host", "0.0.0.0", "--port", "8000"]
