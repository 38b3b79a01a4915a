"""The run stage of the pipeline: send every attempt of a suite to a target and write results.json.

`runner.py` orchestrates (`run_suite`, `run_ab`, `RunOptions`); `attempt.py` is one attempt,
`schedule.py` what runs next, `transcript.py` the append-only record and resume state, `output.py`
the locked output directory, `progress.py` the progress line, `sequential.py` the group-sequential
design. The runner imports nothing from verdict/, report/ or publish/ (docs/architecture.md).
"""
from __future__ import annotations

from .runner import RunOptions, run_ab, run_suite

__all__ = ["RunOptions", "run_ab", "run_suite"]
