# gdviz: one image, CPU PyTorch, non-root, health-checked. Configure with GDVIZ_* variables.
#   docker build -t gdviz .
#   docker run -p 8000:8000 gdviz
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- builder: a virtual environment with torch (CPU build, pinned) and the dependencies -----------
FROM ${PYTHON_IMAGE} AS builder
ARG TORCH_VERSION=2.13.0
# Where the CPU build of torch comes from; PyPI's default Linux wheel is the multi-GB CUDA build.
# Empty: take torch from wherever pip looks (e.g. PIP_FIND_LINKS below).
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
# Offline or mirrored builds: e.g. --build-arg PIP_NO_INDEX=1 --build-arg PIP_FIND_LINKS=http://host:port/
ARG PIP_INDEX_URL
ARG PIP_FIND_LINKS
ARG PIP_NO_INDEX
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
RUN if [ -n "$TORCH_INDEX" ]; then export PIP_INDEX_URL="$TORCH_INDEX"; fi \
    && pip install torch==${TORCH_VERSION}
WORKDIR /src
COPY pyproject.toml README.md ./
# Install the dependencies through an empty package, then drop it: the code runs from /app, and this layer
# stays cached until pyproject.toml changes.
RUN mkdir app && touch app/__init__.py && pip install . && pip uninstall -y gdviz

# --- runtime: the environment and the code, nothing else ------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    GDVIZ_HOST=0.0.0.0 GDVIZ_PORT=8000
RUN useradd --create-home --uid 10001 gdviz
COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
COPY app ./app
COPY static ./static
COPY templates ./templates
USER 10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('GDVIZ_PORT', '8000')}/healthz\", timeout=2)"]
STOPSIGNAL SIGTERM
CMD ["python", "-m", "app"]
