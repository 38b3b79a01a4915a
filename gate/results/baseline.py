"""Baselines as reviewed code: `baselines/<suite>.json` plus `baselines/history/<suite>.jsonl` (docs/formats.md).

A baseline is a results file (counts only, never transcripts) plus provenance (which commit, when,
which target and detector, which tool version) and the estimates the planner needs next time (ICC
and ω). It changes only through a pull request, so every accepted ASR has a reviewer and a history.
"""
from __future__ import annotations

import json
import math
import os
import subprocess
from datetime import datetime, timezone
from typing import Any, Mapping

from .. import __version__, settings
from ..errors import UsageError
from ..formatting import pct, pts
from ..hashing import canonical_json

HISTORY_DIR = "history"


def default_baseline_path(suite_id: str, directory: str = "baselines") -> str:
    safe = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in suite_id)
    return os.path.join(directory, f"{safe}.json")


def history_path(baseline_path: str, suite_id: str) -> str:
    safe = os.path.splitext(os.path.basename(baseline_path))[0] or suite_id
    return os.path.join(os.path.dirname(baseline_path) or ".", HISTORY_DIR, f"{safe}.jsonl")


def _commit() -> str | None:
    sha = settings.github_sha()
    if sha:
        return sha
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or None if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def _finite(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), 6)


def classify_attacks(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> dict[str, list]:
    """Match attacks by id and content hash: `paired` (old, new) pairs with the same content, ids of
    `new`, `removed` and `changed` (same id, different content) attacks."""
    old_by = {a["id"]: a for a in (old or {}).get("attacks", [])}
    new_by = {a["id"]: a for a in new.get("attacks", [])}
    paired, changed = [], []
    for aid, a in new_by.items():
        if aid not in old_by:
            continue
        if old_by[aid].get("hash") == a.get("hash"):
            paired.append((old_by[aid], a))
        else:
            changed.append(aid)
    return {"paired": paired, "new": sorted(set(new_by) - set(old_by)),
            "removed": sorted(set(old_by) - set(new_by)), "changed": sorted(changed)}


def paired_attacks(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[tuple[dict, dict]]:
    """Attacks present in both with the same content hash (the only ones a comparison may pair)."""
    return classify_attacks(old, new)["paired"]


def estimates(results: Mapping[str, Any], previous: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """ICC of this run, and ω (SD of per-attack change between consecutive baselines), for `plan`."""
    from .. import stats

    judged = [a for a in results["attacks"] if a["attempts"] > 0]
    icc = stats.icc_anova([a["successes"] for a in judged], [a["attempts"] for a in judged]) if judged else math.nan
    omega = math.nan
    if previous is not None:
        pairs = paired_attacks(previous, results)
        if len(pairs) >= 2:
            omega = stats.omega_hat([o["successes"] for o, _ in pairs], [o["attempts"] for o, _ in pairs],
                                    [n["successes"] for _, n in pairs], [n["attempts"] for _, n in pairs])
    est = {"icc": _finite(icc), "omega": _finite(omega), "omega_source": "previous baseline" if _finite(omega) is not None else None}
    if est["omega"] is None and previous is not None:  # keep the last known ω rather than forget it
        prev = previous.get("estimates") or {}
        est["omega"] = prev.get("omega")
        est["omega_source"] = prev.get("omega_source")
    return est


def make_baseline(results: Mapping[str, Any], previous: Mapping[str, Any] | None = None,
                  *, commit: str | None = None, date: str | None = None) -> dict[str, Any]:
    """A baseline document from a results file (no transcript, with provenance and estimates)."""
    base = {k: v for k, v in results.items() if k not in ("provenance", "estimates", "transcript")}
    base["provenance"] = {
        "commit": commit or _commit(),
        "date": date or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tool_version": __version__,
        "target": results.get("target"),
        "detector": results.get("detector"),
        "results_started_at": results.get("started_at"),
        "workflow_run": _workflow_run(),
    }
    base["estimates"] = estimates(results, previous)
    return base


def _workflow_run() -> str | None:
    return settings.workflow_run_url()


def check_same_suite(baseline: Mapping[str, Any], results: Mapping[str, Any], *, baseline_path: str) -> None:
    if baseline["suite"]["id"] != results["suite"]["id"]:
        raise UsageError(f"{baseline_path}: baseline is for suite '{baseline['suite']['id']}', "
                         f"results are for '{results['suite']['id']}'")


def history_entry(baseline: Mapping[str, Any]) -> dict[str, Any]:
    t = baseline["totals"]
    prov = baseline.get("provenance", {})
    return {"date": prov.get("date"), "commit": prov.get("commit"), "asr": t.get("asr"), "ci95": t.get("ci95"),
            "attacks": t.get("attacks"), "attempts": t.get("attempts"),
            "categories": {k: v.get("asr") for k, v in baseline.get("categories", {}).items()},
            "detector": baseline["detector"]["hash"], "tool_version": prov.get("tool_version")}


def read_history(path: str, last: int | None = None) -> list[dict[str, Any]]:
    """History entries (oldest first); unreadable lines are skipped, not fatal: history is informational."""
    if not os.path.exists(path):
        return []
    out = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(rec, dict):
                out.append(rec)
    return out[-last:] if last else out


def append_history(path: str, baseline: Mapping[str, Any]) -> str:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    from ..safe_files import append_text

    line = canonical_json(history_entry(baseline)) + "\n"
    append_text(path, line)  # never through a link
    return line


def before_after_rows(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[tuple[str, str, str, str]]:
    """(scope, before, after, change) rows: overall then every category of either file."""
    rows = []
    old_cats = (old or {}).get("categories", {})
    scopes = [("overall", (old or {}).get("totals"), new["totals"])]
    for name in sorted(set(old_cats) | set(new.get("categories", {}))):
        scopes.append((name, old_cats.get(name), new.get("categories", {}).get(name)))
    for name, o, n in scopes:
        oa = o.get("asr") if o else None
        na = n.get("asr") if n else None
        delta = None if oa is None or na is None else na - oa
        rows.append((name, pct(oa), pct(na), pts(delta, " pp")))
    return rows


def changed_attacks(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> dict[str, list[str]]:
    """Ids of attacks added, removed and changed (same id, different content hash)."""
    kinds = classify_attacks(old, new)
    return {k: kinds[k] for k in ("new", "removed", "changed")}
