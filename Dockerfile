# The asr-gate GitHub Action (runs.using: docker). Small and quick to build: a slim Python base pinned
# by digest, the runtime dependencies from a hash-locked file (no resolver, no build step), and the
# `gate` package copied as source. No USER line: GitHub runs Docker actions as root so they can write
# to the mounted /github/workspace, /github/file_commands and the step summary.
FROM python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONPATH=/opt/asr-gate

# One layer: install, then delete what the action never loads before the layer is committed (a later RUN
# could only hide files, not shrink the image): the wheels' own tests/ (47 MB, numpy's and scipy's above
# all), type stubs, static libraries, and C/Cython sources and headers (for compiling against numpy or
# scipy, which nothing here does). --no-compile: no __pycache__ (25 MB); as for the base image's standard
# library, modules are compiled in memory at import: 1.3 s more CPU per run (docs/performance.md).
#
# ASR_GATE_STRIP=true (the release workflow and bench/build_image.sh set it): also strip the extension
# modules' symbol tables (18 MB) with Debian's binutils, installed and purged within this layer. Off by
# default, so the per-run build of `image: Dockerfile` stays as it was, with no apt and no Debian mirror.
# The *.libs/ directories (shared libraries that auditwheel grafted and patched) are not touched.
# binutils is not pinned (DL3008): it only runs here and is purged before the layer is committed, and a
# pin would break the release build at the next Debian point release.
ARG ASR_GATE_STRIP=false
COPY docker/requirements.lock /tmp/requirements.lock
# hadolint ignore=DL3008
RUN python -m pip install --no-cache-dir --no-compile --require-hashes --no-deps --only-binary=:all: \
        -r /tmp/requirements.lock \
    && rm /tmp/requirements.lock \
    && site="$(python -c 'import sysconfig; print(sysconfig.get_path("platlib"))')" \
    && find "$site" -depth \
        \( \( -type d \( -name tests -o -name test -o -name __pycache__ \) \) \
        -o \( -type f \( -name '*.pyc' -o -name '*.pyi' -o -name '*.a' -o -name '*.pxd' -o -name '*.pyx' \
        -o -name '*.pxi' -o -name '*.c' -o -name '*.cpp' -o -name '*.h' -o -name '*.hpp' \) \) \) \
        -exec rm -rf '{}' + \
    && if [ "$ASR_GATE_STRIP" = true ]; then \
        apt-get update \
        && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends binutils \
        && find "$site" -name '*.so' -not -path '*.libs/*' -exec strip --strip-unneeded '{}' + \
        && apt-get purge -y --auto-remove binutils && apt-get clean && rm -rf /var/lib/apt/lists/*; \
    fi

COPY gate /opt/asr-gate/gate

# -P: never put the working directory (/github/workspace, i.e. the checked-out repository) on sys.path,
# so a `gate/` directory in the user's repository cannot shadow the action's code.
ENTRYPOINT ["python", "-P", "-m", "gate.action"]
