"""JSON rendering of a `Verdict` (``compare --format json``, ``verdict.json``; docs/architecture.md)."""
from __future__ import annotations

import json


def render(verdict) -> str:
    """One JSON object: ``verdict``, ``reasons``, ``overall``, ``categories[name]`` (each with
    ``baseline_asr``, ``candidate_asr``, ``delta``, ``ci``, ``p_value``, ``verdict``), and more.
    Never emits NaN or Infinity (they become null)."""
    return json.dumps(verdict.to_dict(), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
