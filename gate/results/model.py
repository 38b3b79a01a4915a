"""The results model: per-attack counts → the blocks of results.json (docs/formats.md).

Results are always *derived from the transcript's records* (one final record per attempt), never
accumulated separately, so a resumed run and an uninterrupted one produce the same file and a
count can only be wrong if the transcript is.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from .. import __version__, settings

SCHEMA_ID = "asr-gate/results/v1"


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
    """95% clustered Wilson interval (attempts of one attack are correlated; see docs/statistics.md §3.5)."""
    if sum(attempts) == 0:
        return None
    from .. import stats

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
                  git: Mapping[str, Any] | None = None, attempts_override: int | None = None,
                  selection: Mapping[str, Any] | None = None) -> dict[str, Any]:
    body = {
        "schema": SCHEMA_ID,
        "tool": {"name": "asr-gate", "version": __version__},
        "suite": {"id": suite.id, "version": suite.version, "hash": suite.hash},
        "target": dict(target),
        "detector": {"hash": suite.detector_hash(), "descriptor": suite.detector_descriptors(),
                     "categories": suite.category_detector_hashes()},
        "git": dict(git or git_info()),
        "started_at": started_at,
        "finished_at": finished_at,
        "duration_s": round(duration_s, 3),
        "complete": complete,
        "shard": shard,
        "attempts_override": attempts_override,
        "selection": dict(selection) if selection else None,
        "calls": calls,
        "tokens": {"prompt": int(tokens.get("prompt", 0)), "completion": int(tokens.get("completion", 0))},
        "error_kinds": dict(sorted(Counter(error_kinds).items())),
    }
    body.update(summarise(counts))
    return body


def git_info() -> dict[str, Any]:
    """Commit and ref from the Actions environment (no subprocess: cheap and deterministic)."""
    return {"sha": settings.github_sha(), "ref": settings.github_ref()}
