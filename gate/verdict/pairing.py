"""Two runs → the attacks that can be compared, as per-attack count arrays.

Only attacks present in both runs with the same content hash are paired: an edited attack
measures something else. `compare` may be handed plain dicts (the library API, the calibration
bench), so the fields it relies on are checked here too, with UsageErrors that name the attack.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, NamedTuple

import numpy as np

from ..errors import UsageError
from ..results.validation import MAX_COUNT
from .model import UNCATEGORISED
from .reasons import short


class AttackRow(NamedTuple):
    """One attack of a run: the counts the comparison uses."""

    category: str
    hash: str | None
    successes: int
    attempts: int
    errors: int


@dataclass(frozen=True)
class Pairing:
    """The paired attacks (ids, categories and counts b/mb baseline, c/mc candidate, aligned) and
    the attacks left out: ``changed`` (same id, other content), ``new`` and ``removed``."""

    base: Mapping[str, AttackRow]
    cand: Mapping[str, AttackRow]
    ids: list[str]
    categories: list[str]
    b: np.ndarray
    mb: np.ndarray
    c: np.ndarray
    mc: np.ndarray
    changed: list[str]
    new: list[str]
    removed: list[str]


def _attacks_of(data: Mapping[str, Any], label: str) -> list[Mapping[str, Any]]:
    if not isinstance(data, Mapping):
        raise UsageError(f"{label}: expected a results object, got {type(data).__name__}")
    attacks = data.get("attacks")
    if not isinstance(attacks, list):
        raise UsageError(f"{label}: attacks: missing or not a list")
    return attacks


def _count(v: Any, label: str, i: int, key: str) -> int:
    if (isinstance(v, bool) or not isinstance(v, (int, float)) or v != v or v in (math.inf, -math.inf) or v < 0
            or int(v) != v):
        raise UsageError(f"{label}: attacks[{i}].{key}: expected a non-negative integer, got {v!r}")
    if v > MAX_COUNT:
        raise UsageError(f"{label}: attacks[{i}].{key}: {int(v)} is more than the {MAX_COUNT:,} an attack can have")
    return int(v)


def attack_table(data: Mapping[str, Any], label: str, by_prompt: bool = False) -> dict[str, AttackRow]:
    """id → `AttackRow`; checks the fields compare relies on.

    ``by_prompt`` identifies attacks by the hash of their messages alone (``prompt_hash``), which
    is how attacks are paired across an explicitly allowed detector change."""
    out: dict[str, AttackRow] = {}
    for i, a in enumerate(_attacks_of(data, label)):
        if not isinstance(a, Mapping):
            raise UsageError(f"{label}: attacks[{i}]: expected an object")
        aid = a.get("id")
        if not isinstance(aid, str) or not aid:
            raise UsageError(f"{label}: attacks[{i}].id: missing or not a string")
        if aid in out:
            raise UsageError(f"{label}: attacks[{i}].id: duplicate attack id {short(aid)!r}")
        for key in ("attempts", "successes"):
            if key not in a:
                raise UsageError(f"{label}: attacks[{i}].{key}: missing")
        att = _count(a["attempts"], label, i, "attempts")
        suc = _count(a["successes"], label, i, "successes")
        err = _count(a.get("errors", 0) or 0, label, i, "errors")
        if suc > att:
            raise UsageError(f"{label}: attacks[{i}].successes: {suc} successes but only {att} attempts")
        cat = a.get("category")
        cat = str(cat) if cat not in (None, "") else UNCATEGORISED
        h = (a.get("prompt_hash") or a.get("hash")) if by_prompt else a.get("hash")
        out[aid] = AttackRow(cat, h, suc, att, err)
    return out


def suite_id(data: Mapping[str, Any]) -> str | None:
    s = data.get("suite")
    return str(s.get("id")) if isinstance(s, Mapping) and s.get("id") is not None else None


def pair_attacks(base: Mapping[str, AttackRow], cand: Mapping[str, AttackRow]) -> Pairing:
    """Pair the candidate's attacks with the baseline's by id and content hash (candidate order)."""
    ids: list[str] = []
    changed: list[str] = []
    new: list[str] = []
    cats: list[str] = []
    bs, bm, cs, cm = [], [], [], []
    for aid, row in cand.items():
        other = base.get(aid)
        if other is None:
            new.append(aid)
            continue
        if other.hash != row.hash:
            changed.append(aid)
            continue
        ids.append(aid)
        cats.append(row.category)
        bs.append(other.successes)
        bm.append(other.attempts)
        cs.append(row.successes)
        cm.append(row.attempts)
    removed = [aid for aid in base if aid not in cand]
    return Pairing(base, cand, ids, cats, np.asarray(bs, dtype=float), np.asarray(bm, dtype=float),
                   np.asarray(cs, dtype=float), np.asarray(cm, dtype=float), changed, new, removed)
