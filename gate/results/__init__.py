"""Results: the counts of a run as results.json (docs/formats.md), and baselines made from them.

`build_results` / `summarise` make the file from a run's counts (`model`), `load_results` is the
one loader of results and baseline files (`files`, checks in `validation`), `merge_results`
combines shards, `require_same_detector` is the one detector check, and `gate.results.baseline`
is the baseline lifecycle. Importing this package loads neither numpy nor scipy: the runner
imports it before its first model call.
"""
from __future__ import annotations

from .detector import DETECTOR_CHANGED, recorded_detector_hash, require_same_detector
from .files import MAX_RESULTS_BYTES, load_results, write_json_atomic
from .merge import merge_results
from .model import SCHEMA_ID, AttackCount, build_results, git_info, summarise

__all__ = [
    "AttackCount", "DETECTOR_CHANGED", "MAX_RESULTS_BYTES", "SCHEMA_ID", "build_results", "git_info",
    "load_results", "merge_results", "recorded_detector_hash", "require_same_detector", "summarise",
    "write_json_atomic",
]
