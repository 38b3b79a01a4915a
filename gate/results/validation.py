"""What a results or baseline file must satisfy, checked once on load (docs/formats.md).

Two levels, because two kinds of reader exist:

* a **results file** (`check_results_file`): what `asr-gate run` writes, checked against
  gate/schemas/results.json, with totals and category blocks that must agree with the per-attack
  counts (validate, merge, publish, baseline update);
* the **counts** a comparison reads (`check_counts`, `COUNTS_SCHEMA`): compare, gate, plan and
  run --sequential also accept hand-made files with just ``attacks``. A hand check
  (`counts_plainly_valid`, ~50x faster than jsonschema on 10,000 attacks) decides "valid"; only
  when it says no does jsonschema run, to name the exact problem.

Every problem is one located ConfigError (``path:line: field: what``, exit 2).
"""
from __future__ import annotations

import json
import re
import sys
from typing import Any

from ..config import Document, validate
from ..errors import ConfigError
from .model import SCHEMA_ID

#: largest count (attempts, successes, errors, planned) one attack may have in a results file; the
#: suite schema allows 100,000 attempts per attack. Far larger counts are not measurements (and the
#: exact tests would hang or overflow on them), so they are refused with a located error.
MAX_COUNT = 10_000_000
#: largest run total (totals.attempts etc.)
MAX_TOTAL = 10 ** 12
#: per-attack count fields (integers; integral floats such as 20.0 are accepted, as JSON Schema does)
COUNT_KEYS = ("attempts", "successes", "errors", "planned")

#: the fields of results.json / baselines that a comparison (compare, gate, plan) reads
COUNTS_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["attacks"],
    "properties": {
        "suite": {"type": "object", "properties": {"id": {"type": ["string", "null"]}}},
        "detector": {"type": "object", "properties": {"hash": {"type": ["string", "null"]}}},
        "attacks": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "attempts", "successes"],
                "properties": {
                    "id": {"type": "string", "minLength": 1},
                    "category": {"type": ["string", "null"]},
                    "hash": {"type": ["string", "null"]},
                    "attempts": {"type": "integer", "minimum": 0, "maximum": MAX_COUNT},
                    "successes": {"type": "integer", "minimum": 0, "maximum": MAX_COUNT},
                    "errors": {"type": ["integer", "null"], "minimum": 0, "maximum": MAX_COUNT},
                    "planned": {"type": ["integer", "null"], "minimum": 0, "maximum": MAX_COUNT},
                },
            },
        },
        "totals": {
            "type": "object",
            "properties": {k: {"type": ["integer", "null"], "minimum": 0, "maximum": MAX_TOTAL}
                           for k in COUNT_KEYS},
        },
        "complete": {"type": ["boolean", "null"]},
        "sequential": {"type": ["object", "null"]},
        "estimates": {
            "type": "object",
            "properties": {
                "icc": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
                "omega": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
            },
        },
    },
}


# ---------------------------------------------------------------------------------------------
# A results file written by `asr-gate run`
# ---------------------------------------------------------------------------------------------

def check_results_file(doc: Document) -> None:
    """The whole results schema, successes ≤ attempts, unique ids, and summaries that add up."""
    if not isinstance(doc.data, dict):
        raise ConfigError(doc.path, "expected a JSON object (a results file written by `asr-gate run`)", line=1)
    if doc.data.get("schema") != SCHEMA_ID:
        raise doc.error(("schema",), f"not an asr-gate results file (expected schema '{SCHEMA_ID}')")
    validate(doc, "results")
    for i, a in enumerate(doc.data["attacks"]):
        if a["successes"] > a["attempts"]:
            raise doc.error(("attacks", i, "successes"), f"successes ({a['successes']}) > attempts ({a['attempts']})")
    ids = {}
    for i, a in enumerate(doc.data["attacks"]):
        if a["id"] in ids:
            raise doc.error(("attacks", i, "id"), f"duplicate attack id '{a['id']}'")
        ids[a["id"]] = i
    _check_summaries(doc)


def _check_summaries(doc: Document) -> None:
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


# ---------------------------------------------------------------------------------------------
# The counts a comparison reads
# ---------------------------------------------------------------------------------------------

def check_counts(doc: Document) -> None:
    """COUNTS_SCHEMA (hand check first), successes ≤ attempts and unique ids; then 20.0 → 20."""
    data = doc.data
    if _counts_checked_in_one_pass(data):
        return
    if not counts_plainly_valid(data):
        # name the exact problem; jsonschema is the reference (counts_plainly_valid is its fast twin, so
        # when they disagree the file is valid and jsonschema's word stands)
        validate(doc, COUNTS_SCHEMA)
    normalise_counts(data)
    seen: dict[str, int] = {}
    for i, a in enumerate(data["attacks"]):
        if a["successes"] > a["attempts"]:
            raise doc.error(("attacks", i, "successes"),
                            f"{a['successes']} successes but only {a['attempts']} judged attempts")
        if a["id"] in seen:
            raise doc.error(("attacks", i, "id"), f"duplicate attack id (first at attacks[{seen[a['id']]}])")
        seen[a["id"]] = i


def _counts_checked_in_one_pass(data: Any) -> bool:
    """`check_counts` for the common case in one pass over the attacks: the hand check, successes ≤
    attempts, unique ids and 20.0 → 20 together. False when anything is off (or a float count needs
    normalising): then the separate passes below run and name the exact problem."""
    if not isinstance(data, dict) or not isinstance(data.get("attacks"), list) or not _top_level_valid(data):
        return False
    seen: set[str] = set()
    add = seen.add
    for a in data["attacks"]:
        if type(a) is not dict:
            return False
        aid, att, suc = a.get("id"), a.get("attempts"), a.get("successes")
        # ints only here (a float count, even 20.0, takes the slow path, which normalises it)
        if (type(aid) is not str or not aid or type(att) is not int or type(suc) is not int
                or not 0 <= suc <= att <= MAX_COUNT or aid in seen):
            return False
        add(aid)
        err, planned = a.get("errors"), a.get("planned")
        if not (err is None or (type(err) is int and 0 <= err <= MAX_COUNT)):
            return False
        if not (planned is None or (type(planned) is int and 0 <= planned <= MAX_COUNT)):
            return False
        cat, h = a.get("category"), a.get("hash")
        if not (cat is None or type(cat) is str) or not (h is None or type(h) is str):
            return False
    tot = data.get("totals")
    return not isinstance(tot, dict) or all(type(tot.get(k)) is not float for k in COUNT_KEYS)


def _top_level_valid(data: dict[str, Any]) -> bool:
    """The fields of COUNTS_SCHEMA outside `attacks` (shared by the one-pass and the plain check)."""
    for key in ("suite", "detector", "estimates"):
        if key in data and not isinstance(data[key], dict):
            return False
    if not _opt_str((data.get("suite") or {}).get("id")) or not _opt_str((data.get("detector") or {}).get("hash")):
        return False
    est = data.get("estimates") or {}
    for key in ("icc", "omega"):
        v = est.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1):
            return False
    if "totals" in data:
        tot = data["totals"]
        if not isinstance(tot, dict) or not all(_opt_count(tot.get(k), MAX_TOTAL) for k in COUNT_KEYS):
            return False
    if data.get("complete") is not None and type(data["complete"]) is not bool:
        return False
    seq = data.get("sequential")
    return seq is None or isinstance(seq, dict)


def is_count(v: Any, limit: int = MAX_COUNT) -> bool:
    """A JSON Schema ``integer`` in [0, limit]: ints, and floats with an integral value (20.0)."""
    t = type(v)
    if t is int:
        return 0 <= v <= limit
    return t is float and 0 <= v <= limit and v.is_integer()


def _opt_count(v: Any, limit: int = MAX_COUNT) -> bool:
    return v is None or is_count(v, limit)


def _opt_str(v: Any) -> bool:
    return v is None or isinstance(v, str)


def normalise_counts(data: dict[str, Any]) -> None:
    """20.0 → 20 in the count fields (valid JSON Schema integers), so every consumer sees ints."""
    for a in data["attacks"]:
        for key in COUNT_KEYS:
            v = a.get(key)
            if type(v) is float:
                a[key] = int(v)
    tot = data.get("totals")
    if isinstance(tot, dict):
        for key in COUNT_KEYS:
            if type(tot.get(key)) is float:
                tot[key] = int(tot[key])


def counts_plainly_valid(data: Any) -> bool:
    """COUNTS_SCHEMA checked by hand: ~50x faster than jsonschema on 10,000 attacks. When it says
    no, jsonschema runs to name the exact problem (so it only needs to be right on 'yes')."""
    if not isinstance(data, dict) or not isinstance(data.get("attacks"), list) or not _top_level_valid(data):
        return False
    for a in data["attacks"]:
        if not isinstance(a, dict):
            return False
        aid = a.get("id")
        if not isinstance(aid, str) or not aid or not is_count(a.get("attempts")) or not is_count(a.get("successes")):
            return False
        if not _opt_str(a.get("category")) or not _opt_str(a.get("hash")):
            return False
        if not _opt_count(a.get("errors")) or not _opt_count(a.get("planned")):
            return False
    return True


def locate_bad_number(path: str, text: str, exc: ValueError) -> ConfigError:
    """The located error for NaN / Infinity (YAML reads them as plain strings, so the YAML locator
    does not see them) or for an integer literal too long for Python to convert."""
    marker = object()

    def find(x: Any, where: tuple) -> tuple | None:
        if x is marker:
            return where
        items = x.items() if isinstance(x, dict) else enumerate(x) if isinstance(x, list) else ()
        for k, v in items:
            hit = find(v, where + (k,))
            if hit is not None:
                return hit
        return None

    names: list[str] = []

    def const(name: str) -> Any:
        names.append(name)
        return marker

    try:
        at = find(json.loads(text, parse_constant=const), ())
    except (ValueError, RecursionError):
        at = None
    if at is None:
        limit = sys.get_int_max_str_digits() if hasattr(sys, "get_int_max_str_digits") else 4300
        m = re.search(r"\d{%d,}" % (limit + 1), text) if limit else None
        line = text.count("\n", 0, m.start()) + 1 if m else 1
        why = "a number with too many digits" if m else " ".join(str(exc).split())[:200]
        return ConfigError(path, f"invalid JSON: {why}", line=line)
    return Document(path, None, None, text).error(at, f"{names[0]} is not a valid JSON number (counts and "
                                                      f"rates must be finite)")
