"""Shard results (`run --shard i/n`) → one results dict with the counts of an unsharded run."""
from __future__ import annotations

from collections import Counter
from typing import Any

from ..errors import UsageError
from .model import AttackCount, summarise


def merge_results(parts: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """Combine shard results (`run --shard i/n`) into one results dict.

    Shards must come from the same suite, detector and target; an attack may appear in only one
    shard. The merged file has the same counts as an unsharded run of the same attempts.
    """
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
