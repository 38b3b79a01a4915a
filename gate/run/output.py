"""A run's output directory: the exclusive lock, `run.json` (what `--resume` must match), the file names.

One directory holds one run: a second `asr-gate run` writing the same directory would interleave
two transcripts, so the directory is locked for the whole run. `run.json` records what identifies
the run (suite, detector, attempts, shard, target, sequential design); `--resume` continues only a
run that matches it, so a resumed run never mixes attempts of two different measurements
(docs/formats.md).
"""
from __future__ import annotations

import fcntl
import json
import os
from datetime import datetime, timezone
from typing import Any

from ..errors import UsageError
from ..results import write_json_atomic
from ..safe_files import open_fd

TRANSCRIPT = "transcript.jsonl"
RESULTS = "results.json"
RUN_META = "run.json"
LOCK = ".lock"

#: run.json keys a resumed run must share with the interrupted one
RESUME_KEYS = ("suite_hash", "detector_hash", "attempts", "shard", "target", "sequential", "selection")


class OutputDir:
    """An output directory held with an exclusive lock for the duration of a run."""

    def __init__(self, path: str):
        self.path = path
        os.makedirs(path, exist_ok=True)
        self._fh = os.fdopen(open_fd(os.path.join(path, LOCK), os.O_WRONLY | os.O_CREAT), "w")
        try:
            fcntl.flock(self._fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._fh.close()
            raise UsageError(f"{path}: another asr-gate run is writing this output directory") from None

    def file(self, name: str) -> str:
        return os.path.join(self.path, name)

    def close(self) -> None:
        fcntl.flock(self._fh, fcntl.LOCK_UN)
        self._fh.close()


def now_utc() -> str:
    """The current time as results.json and run.json write it (UTC, whole seconds)."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def previous_run(out: OutputDir, meta: dict[str, Any], *, resume: bool) -> dict[str, Any] | None:
    """The run.json of the interrupted run this invocation continues, or None for a fresh run.

    UsageError when `--resume` meets a run of something else (see RESUME_KEYS), or when a fresh run
    would write over a previous run's transcript.
    """
    meta_path = out.file(RUN_META)
    if resume and os.path.exists(meta_path):
        with open(meta_path, encoding="utf-8") as fh:
            old = json.load(fh)
        for key in RESUME_KEYS:
            if old.get(key) != meta[key]:
                what = ("sequential design (baseline, policy or seed)" if key == "sequential"
                        else key.replace("_", " "))
                raise UsageError(f"{out.path}: cannot resume: the {what} differs from the "
                                 f"interrupted run's; use a new --out directory")
        return old
    transcript = out.file(TRANSCRIPT)
    if os.path.exists(transcript) and os.path.getsize(transcript) > 0:
        raise UsageError(f"{out.path}: holds a previous run's transcript; pass --resume to continue it "
                         f"or choose another --out")
    return None


def write_run_meta(out: OutputDir, meta: dict[str, Any]) -> None:
    write_json_atomic(out.file(RUN_META), meta)
