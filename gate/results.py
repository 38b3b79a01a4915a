"""The results model: per-attack counts → results.json, validated by gate/schemas/results.json.

Results are always *derived from the transcript's records* (one final record per attempt), never
accumulated separately, so a resumed run and an uninterrupted one produce the same file and a
count can only be wrong if the transcript is.
"""
from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from . import __version__, settings
from .errors import ConfigError

SCHEMA_ID = "asr-gate/results/v1"
#: results and baselines of very large suites are big, but never this big
MAX_RESULTS_BYTES = 256 * 1024 * 1024


@dataclass
class AttackCount:
    id: str
    category: str
    hash: str
    planned: int
    attempts: int = 0
    successes: int = 0
    errors: int = 0
    prompt_hash: str | None = None

    def as_dict(self) -> dict[str, Any]:
        d = {"id": self.id, "category": self.category, "hash": self.hash, "planned": self.planned,
             "attempts": self.attempts, "successes": self.successes, "errors": self.errors}
        if self.prompt_hash:
            d["prompt_hash"] = self.prompt_hash
        return d


def _interval(successes: list[int], attempts: list[int]) -> list[float] | None:
    """95% clustered Wilson interval (attempts of one attack are correlated; see STATISTICS.md §3.5)."""
    if sum(attempts) == 0:
        return None
    from . import stats

    ci = stats.clustered_wilson_interval(successes, attempts, confidence=0.95)
    return [round(float(ci.low), 6), round(float(ci.high), 6)]


def summarise(counts: Iterable[AttackCount]) -> dict[str, Any]:
    """The `attacks`, `categories` and `totals` blocks of results.json."""
    counts = list(counts)
    by_cat: dict[str, list[AttackCount]] = {}
    for c in counts:
        by_cat.setdefault(c.category, []).append(c)

    def block(items: list[AttackCount]) -> dict[str, Any]:
        att = sum(c.attempts for c in items)
        suc = sum(c.successes for c in items)
        judged = [c for c in items if c.attempts > 0]
        return {
            "attacks": len(items),
            "planned": sum(c.planned for c in items),
            "attempts": att,
            "successes": suc,
            "errors": sum(c.errors for c in items),
            "asr": round(suc / att, 6) if att else None,
            "ci95": _interval([c.successes for c in judged], [c.attempts for c in judged]),
        }

    return {
        "attacks": [c.as_dict() for c in counts],
        "categories": {name: block(items) for name, items in sorted(by_cat.items())},
        "totals": block(counts),
    }


def build_results(*, suite: Any, target: Mapping[str, Any], counts: Iterable[AttackCount], started_at: str,
                  finished_at: str, duration_s: float, calls: int, tokens: Mapping[str, int],
                  error_kinds: Mapping[str, int], complete: bool, shard: str | None = None,
                  git: Mapping[str, Any] | None = None, attempts_override: int | None = None) -> dict[str, Any]:
    body = {
        "schema": SCHEMA_ID,
        "tool": {"name": "asr-gate", "version": __version__},
        "suite": {"id": suite.id, "version": suite.version, "hash": suite.hash},
        "target": dict(target),
        "detector": {"hash": suite.detector_hash(), "descriptor": suite.detector_descriptors()},
        "git": dict(git or git_info()),
        "started_at": started_at,
        "finished_at": finished_at,
        "duration_s": round(duration_s, 3),
        "complete": complete,
        "shard": shard,
        "attempts_override": attempts_override,
        "calls": calls,
        "tokens": {"prompt": int(tokens.get("prompt", 0)), "completion": int(tokens.get("completion", 0))},
        "error_kinds": dict(sorted(Counter(error_kinds).items())),
    }
    body.update(summarise(counts))
    return body


def git_info() -> dict[str, Any]:
    """Commit and ref from the Actions environment (no subprocess: cheap and deterministic)."""
    return {"sha": settings.github_sha(), "ref": settings.github_ref()}


def write_json_atomic(path: str, data: Any) -> None:
    """Write via a temp file + rename so a kill never leaves a half-written results file."""
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, ensure_ascii=False, allow_nan=False)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def load_results(path: str, *, schema: str = "results") -> dict[str, Any]:
    """Load and validate a results (or baseline) file; bad files are located ConfigErrors (exit 2)."""
    from .config import load_document, validate

    doc = load_document(path, max_bytes=MAX_RESULTS_BYTES)
    if not isinstance(doc.data, dict):
        raise ConfigError(path, "expected a JSON object (a results file written by `asr-gate run`)", line=1)
    if doc.data.get("schema") != SCHEMA_ID:
        raise doc.error(("schema",), f"not an asr-gate results file (expected schema '{SCHEMA_ID}')")
    validate(doc, schema)
    for i, a in enumerate(doc.data["attacks"]):
        if a["successes"] > a["attempts"]:
            raise doc.error(("attacks", i, "successes"), f"successes ({a['successes']}) > attempts ({a['attempts']})")
    ids = {}
    for i, a in enumerate(doc.data["attacks"]):
        if a["id"] in ids:
            raise doc.error(("attacks", i, "id"), f"duplicate attack id '{a['id']}'")
        ids[a["id"]] = i
    _check_summaries(doc)
    return doc.data


def _check_summaries(doc: Any) -> None:
    """The totals and category blocks must agree with the per-attack counts they summarise: they are
    what `baseline update`, the history and the PR body show, so an edited total must not slip in."""
    data = doc.data
    sums: dict[str | None, list[int]] = {}
    for a in data["attacks"]:
        for key in (None, a["category"]):
            t = sums.setdefault(key, [0, 0, 0])
            t[0] += a["attempts"]
            t[1] += a["successes"]
            t[2] += a["errors"]
    blocks = [(("totals",), data["totals"], sums.get(None, [0, 0, 0]))]
    for name, block in (data.get("categories") or {}).items():
        if isinstance(block, dict):
            blocks.append((("categories", name), block, sums.get(name, [0, 0, 0])))
    for where, block, (att, suc, err) in blocks:
        for key, want in (("attempts", att), ("successes", suc), ("errors", err)):
            if key in block and block[key] != want:
                raise doc.error(where + (key,), f"{block[key]} does not match the per-attack counts ({want})")
        asr = block.get("asr")
        if asr is not None and (not isinstance(asr, (int, float)) or att == 0 or abs(asr - suc / att) > 1e-4):
            raise doc.error(where + ("asr",), f"{asr} does not match the per-attack counts "
                                              f"({'n/a' if att == 0 else round(suc / att, 6)})")


def merge_results(parts: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """Combine shard results (`run --shard i/n`) into one results dict.

    Shards must come from the same suite, detector and target; an attack may appear in only one
    shard. The merged file has the same counts as an unsharded run of the same attempts.
    """
    from .errors import UsageError

    if not parts:
        raise UsageError("merge needs at least one results file")
    first_path, first = parts[0]
    seen: dict[str, str] = {}
    counts: list[AttackCount] = []
    shards = set()
    for path, r in parts:
        for key in ("suite", "detector"):
            if r[key].get("hash") != first[key].get("hash"):
                raise UsageError(f"{path}: {key} hash differs from {first_path}'s; shards must come from one suite")
        if r.get("target") != first.get("target"):
            raise UsageError(f"{path}: target differs from {first_path}'s")
        if r.get("attempts_override") != first.get("attempts_override"):
            raise UsageError(f"{path}: run with --attempts {r.get('attempts_override') or '(suite default)'}, but "
                             f"{first_path} with --attempts {first.get('attempts_override') or '(suite default)'}; "
                             f"shards must use the same attempts")
        if r.get("shard"):
            if r["shard"] in shards:
                raise UsageError(f"{path}: shard {r['shard']} given twice")
            shards.add(r["shard"])
        for a in r["attacks"]:
            if a["id"] in seen:
                raise UsageError(f"{path}: attack '{a['id']}' is also in {seen[a['id']]}")
            seen[a["id"]] = path
            counts.append(AttackCount(a["id"], a["category"], a.get("hash", ""), a.get("planned", a["attempts"] + a["errors"]),
                                      a["attempts"], a["successes"], a["errors"], a.get("prompt_hash")))
    ns = {s.split("/")[1] for s in shards}
    if shards and (len(ns) != 1 or len(shards) != int(next(iter(ns)))):
        missing = sorted(set(f"{i}/{next(iter(ns))}" for i in range(1, int(next(iter(ns))) + 1)) - shards) if len(ns) == 1 else []
        raise UsageError("shards do not form a complete set" + (f": missing {', '.join(missing)}" if missing else ""))
    order = {a["id"]: k for k, a in enumerate(sorted((a for _, r in parts for a in r["attacks"]), key=lambda a: a["id"]))}
    counts.sort(key=lambda c: order[c.id])
    merged = dict(first)
    merged.update(summarise(counts))
    merged["shard"] = None
    merged["complete"] = all(r.get("complete", True) for _, r in parts)
    merged["calls"] = sum(int(r.get("calls", 0)) for _, r in parts)
    merged["duration_s"] = max(float(r.get("duration_s", 0)) for _, r in parts)
    merged["started_at"] = min((r.get("started_at") or "" for _, r in parts), default=None) or None
    merged["finished_at"] = max((r.get("finished_at") or "" for _, r in parts), default=None) or None
    merged["tokens"] = {k: sum(int((r.get("tokens") or {}).get(k, 0)) for _, r in parts) for k in ("prompt", "completion")}
    kinds: Counter = Counter()
    for _, r in parts:
        kinds.update(r.get("error_kinds") or {})
    merged["error_kinds"] = dict(sorted(kinds.items()))
    return merged


DETECTOR_CHANGED = (
    "{where} was measured with a different detector (its detector hash differs), so the two ASRs are not "
    "comparable{when}. Re-baseline with the current detector (`asr-gate baseline update "
    "--allow-detector-change`, or the action's `mode: baseline`), or pass --allow-detector-change to compare anyway."
)


def recorded_detector_hash(doc: Mapping[str, Any]) -> str | None:
    """The detector hash a results or baseline document records, or None when it records none."""
    det = doc.get("detector")
    return det.get("hash") if isinstance(det, Mapping) else None


def require_same_detector(doc: Mapping[str, Any], detector_hash: str | None, *, where: str,
                          before_run: bool = False) -> None:
    """The one detector check: UsageError when ``doc`` was judged by another detector than ``detector_hash``.

    A different detector measures a different thing, so its ASR is not the baseline's; every command that
    pairs two measurements calls this (compare, gate, run --sequential, baseline update).
    """
    from .errors import UsageError

    recorded = recorded_detector_hash(doc)
    if recorded is not None and detector_hash is not None and recorded != detector_hash:
        when = "; no model call was made" if before_run else ""
        raise UsageError(DETECTOR_CHANGED.format(where=where, when=when))
