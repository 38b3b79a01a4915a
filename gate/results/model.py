"""The results model: per-attack counts → the blocks of results.json (docs/formats.md).

Results are always *derived from the transcript's records* (one final record per attempt), never
accumulated separately, so a resumed run and an uninterrupted one produce the same file and a
count can only be wrong if the transcript is.
"""
from __future__ import annotations

import math
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


#: the two-sided 95% normal quantile, scipy.stats.norm.ppf(0.975) to the last bit
_Z95 = 1.959963984540054


def _interval(successes: list[int], attempts: list[int]) -> list[float] | None:
    """95% clustered Wilson interval (attempts of one attack are correlated; see docs/statistics.md §3.5).

    The stdlib twin of `gate.stats.clustered_wilson_interval(..., confidence=0.95)` (same formulas, same
    order of operations; tests/test_runner.py checks them against each other): `asr-gate run` needs
    nothing else from gate.stats, and importing numpy + scipy cost ~0.5 s of CPU per run, taken from
    the workers while they started (issue 16)."""
    pairs = [(float(x), float(m)) for x, m in zip(successes, attempts) if m > 0]
    K = len(pairs)
    N = sum(m for _, m in pairs)
    if K == 0 or N <= 0:
        return None
    X = sum(x for x, _ in pairs)
    r = _icc_anova(pairs, K, N, X)
    r_used = 0.0 if not math.isfinite(r) else min(1.0, max(0.0, r))
    nbar = N / K
    deff = max(1.0, 1.0 + (nbar - 1.0) * r_used)
    n = N / deff
    x = (X / N) * n
    p = x / n  # as gate.stats._wilson recomputes it
    z = _Z95
    z2 = z * z
    denom = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z / denom * math.sqrt(max(p * (1 - p) / n + z2 / (4 * n * n), 0.0))
    low = 0.0 if x <= 0 else min(1.0, max(0.0, centre - half))
    high = 1.0 if x >= n else min(1.0, max(0.0, centre + half))
    if X == 0:
        high = 1.0 - 0.025 ** (1.0 / n) if n > 0 else 1.0
    if X == N:
        low = 1.0 - (1.0 - 0.025 ** (1.0 / n) if n > 0 else 1.0)
    return [round(float(low), 6), round(float(high), 6)]


def _icc_anova(pairs: list[tuple[float, float]], K: int, N: float, X: float) -> float:
    """`gate.stats.icc_anova` on (successes, attempts>0) pairs, in plain Python."""
    if K < 2 or N - K <= 0:
        return math.nan
    pbar = X / N
    msb = math.fsum(m * (x / m - pbar) ** 2 for x, m in pairs) / (K - 1)
    msw = math.fsum(m * (x / m) * (1 - x / m) for x, m in pairs) / (N - K)
    n0 = (N - math.fsum(m * m for _, m in pairs) / N) / (K - 1)
    denom = msb + (n0 - 1) * msw
    if denom <= 0:
        return 0.0
    return float(min(1.0, max(0.0, (msb - msw) / denom)))


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
