# syntax=docker/dockerfile:1
#
# vertex-bridge container image (see docs/deployment.md).
#
#   docker build -t vertex-bridge .
#   docker run --rm -p 4000:4000 \
#     -e VERTEX_BRIDGE_API_KEYS="$(openssl rand -hex 24)" \
#     -e GOOGLE_CLOUD_PROJECT=my-project \
#     -e GOOGLE_APPLICATION_CREDENTIALS=/var/secrets/google/sa.json \
#     -v "$PWD/sa.json:/var/secrets/google/sa.json:ro" \
#     vertex-bridge
#
# The proxy listens on 0.0.0.0 inside the container, so it refuses to start (exit 2, "refusing to
# listen on 0.0.0.0 without api_keys") unless VERTEX_BRIDGE_API_KEYS is set.
#
# Docker cannot run on the project's build machines; scripts/ship-check lints this file with hadolint
# and repeats its steps (build the wheel, install it into a fresh virtualenv, start, /health, one chat).

ARG PYTHON_IMAGE=python:3.12-slim

# --- build: the wheel, installed into a virtualenv at the path it will have at run time ---
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
RUN python -m pip install --no-cache-dir "build==1.6.1"
COPY pyproject.toml README.md ./
COPY addon/ addon/
COPY translators/ translators/
COPY scripts/vertex_emulator/ scripts/vertex_emulator/
# Optional extras, e.g. --build-arg EXTRAS=otel for OpenTelemetry export.
ARG EXTRAS=""
RUN python -m build --wheel --outdir /dist \
 && python -m venv /opt/vertex-bridge \
 && wheel="$(echo /dist/*.whl)" \
 && /opt/vertex-bridge/bin/pip install --no-cache-dir "${wheel}${EXTRAS:+[${EXTRAS}]}"

# --- runtime: the virtualenv on a clean slim image, run as a non-root user ---
FROM ${PYTHON_IMAGE} AS runtime
# The home directory is also writable by group 0, so the image runs under an arbitrary uid with gid 0
# (`docker run --user "$(id -u):0"`, OpenShift).
RUN useradd --create-home --home-dir /home/vertex-bridge --uid 10001 --user-group --shell /usr/sbin/nologin vertex-bridge \
 && chgrp 0 /home/vertex-bridge \
 && chmod 0770 /home/vertex-bridge
COPY --from=build /opt/vertex-bridge /opt/vertex-bridge
# mitmproxy keeps its state in ~/.mitmproxy, so HOME must be writable (mount an emptyDir there when
# the root filesystem is read-only).
ENV PATH="/opt/vertex-bridge/bin:${PATH}" \
    HOME=/home/vertex-bridge \
    PYTHONUNBUFFERED=1 \
    VERTEX_BRIDGE_LISTEN_HOST=0.0.0.0 \
    VERTEX_BRIDGE_LISTEN_PORT=4000
USER 10001:10001
WORKDIR /home/vertex-bridge
EXPOSE 4000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('VERTEX_BRIDGE_LISTEN_PORT', '4000'), timeout=4)"]
# As PID 1 the process would ignore SIGTERM; SIGINT stops it cleanly.
STOPSIGNAL SIGINT
ENTRYPOINT ["vertex-bridge"]
