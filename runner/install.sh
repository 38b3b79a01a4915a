#!/usr/bin/env bash
# Install the runner-mode action's dependencies: docker/requirements.lock (hash-pinned, wheels only, no
# resolver) into $RUNNER_TEMP/asr-gate-venv. Skipped when that virtualenv already holds this exact lock
# (a cached $RUNNER_TEMP, or a second gate step in the same job).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
lock="$here/../docker/requirements.lock"
venv="${RUNNER_TEMP:?RUNNER_TEMP is not set}/asr-gate-venv"
want="$(sha256sum "$lock" | cut -d' ' -f1)"
if [ -f "$venv/.asr-gate-lock" ] && [ "$(cat "$venv/.asr-gate-lock")" = "$want" ]; then
  echo "asr-gate: dependencies already installed in $venv"
  exit 0
fi
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps \
  --only-binary=:all: -r "$lock"
echo "$want" > "$venv/.asr-gate-lock"
