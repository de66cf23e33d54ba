# FoodVision, CPU build. Build: docker build -t foodvision .
# Run:   docker run -p 8000:8000 -v foodvision-data:/data foodvision
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends npm \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
RUN pip install --index-url https://download.pytorch.org/whl/cpu "torch>=2.3,<3" "torchvision>=0.18,<1"
WORKDIR /src
COPY pyproject.toml README.md ./
COPY food_vision food_vision
COPY backend backend
COPY frontend frontend
RUN pip install . && python -m frontend.vendor

FROM python:3.11-slim
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
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]
CMD ["foodvision", "serve", "--host", "0.0.0.0", "--port", "8000"]
