# syntax=docker/dockerfile:1
# ptychobench: the parity suite and benchmarks, reproducible on a GPU host.
#
#   docker build -t ptychobench .
#   docker run --gpus all -v "$PWD/results:/results" ptychobench parity
#   docker run --gpus all -v "$PWD/results:/results" ptychobench bench
#
# BASE_IMAGE is pinned by tag; pass a digest for byte-identical bases
# (--build-arg BASE_IMAGE=python:3.11.14-slim-bookworm@sha256:...).
ARG BASE_IMAGE=python:3.11.14-slim-bookworm
FROM ${BASE_IMAGE}

# The hash-locked requirements: the CUDA lock by default, the CPU lock for CPU-only hosts.
ARG REQUIREMENTS=requirements/container.lock
# A CA bundle mounted at build time only (corporate proxies); never copied into the image.
ARG PIP_CERT=""
ARG GIT_SHA=unknown
ARG IMAGE_TAG=ptychobench:local

ENV PYTHONHASHSEED=0 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    TF_NUM_INTEROP_THREADS=1 \
    OMP_NUM_THREADS=2 \
    MPLBACKEND=Agg \
    PTYCHOBENCH_REPORTS=/results/reports \
    PTYCHOBENCH_SCREENSHOTS=/results/screenshots \
    PTYCHOBENCH_SITE=/results/site \
    PTYCHOBENCH_GIT_SHA=${GIT_SHA} \
    PTYCHOBENCH_IMAGE=${IMAGE_TAG} \
    PTYCHOBENCH_LOCK=/app/${REQUIREMENTS} \
    PTYCHOBENCH_ASSETS=/opt/asv-assets \
    PYTEST_ADDOPTS="-p no:cacheprovider" \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:${PATH} \
    PYTHONPATH=/app/src

# git lets asv read commit hashes and dates in the image; its Debian version follows the
# pinned base image, so it is not pinned separately.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/* \
    && git config --system --add safe.directory /app

WORKDIR /app
COPY ${REQUIREMENTS} /tmp/requirements.lock
RUN if [ -n "${PIP_CERT}" ]; then export PIP_CERT; fi \
    && python3 -m venv /opt/venv \
    && /opt/venv/bin/python -m pip install --require-hashes --only-binary=:all: --no-deps \
       -r /tmp/requirements.lock \
    && rm /tmp/requirements.lock

# The project runs from its source tree (PYTHONPATH): no build backend is needed in the image.
COPY . /app
# asv's pages load jQuery/flot/Bootstrap from CDNs; fetch them now so `publish` works offline.
RUN if [ -n "${PIP_CERT}" ]; then export SSL_CERT_FILE="${PIP_CERT}"; fi \
    && python3 -m ptychobench.site --fetch-assets \
    && useradd --create-home --uid 1000 ptycho \
    && mkdir -p /results \
    && chown ptycho:ptycho /results \
    && ln -s /results/asv /app/.asv

USER 1000
VOLUME ["/results"]
ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD ["parity"]
