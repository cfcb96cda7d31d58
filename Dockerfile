# gdviz: one image, CPU PyTorch, non-root, health-checked. Configure with GDVIZ_* variables.
#   docker build -t gdviz .
#   docker run -p 8000:8000 gdviz
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- builder: a virtual environment with torch (CPU build, pinned) and the dependencies -----------
FROM ${PYTHON_IMAGE} AS builder
ARG TORCH_VERSION=2.13.0
# Where the CPU build of torch comes from; PyPI's default Linux wheel is the multi-GB CUDA build.
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
RUN pip install "torch==${TORCH_VERSION}" --index-url "${TORCH_INDEX}"
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
# Install the dependencies through the package, then drop the package itself: the code runs from /app.
RUN pip install . && pip uninstall -y gdviz

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
USER gdviz
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('GDVIZ_PORT', '8000')}/healthz\", timeout=2)"]
STOPSIGNAL SIGTERM
CMD ["python", "-m", "app"]
