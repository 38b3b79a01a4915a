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

COPY docker/requirements.lock /tmp/requirements.lock
RUN python -m pip install --no-cache-dir --require-hashes --no-deps --only-binary=:all: -r /tmp/requirements.lock \
    && rm /tmp/requirements.lock

COPY gate /opt/asr-gate/gate

# -P: never put the working directory (/github/workspace, i.e. the checked-out repository) on sys.path,
# so a `gate/` directory in the user's repository cannot shadow the action's code.
ENTRYPOINT ["python", "-P", "-m", "gate.action"]
