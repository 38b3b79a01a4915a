"""Whether a results file measured anything: the one check `compare`, the gate and `baseline update` share.

A run whose every attempt ended in an error has totals of 0 judged attempts. Compared, it can only give an
error far from its cause ("no paired attacks"); made a baseline, it poisons every later comparison. So it is
refused where it is read, in one line that names the file and says what is missing.
"""
from __future__ import annotations

from typing import Any, Mapping

from ..errors import MeasureError, UsageError


def judged_attempts(doc: Mapping[str, Any]) -> int:
    """Judged attempts over every attack (the lenient loader accepts files without `totals`)."""
    return sum(int(a.get("attempts") or 0) for a in doc.get("attacks") or ())


def require_judged(doc: Mapping[str, Any], where: str, *, role: str) -> None:
    """UsageError (a baseline, exit 2) or MeasureError (a candidate, exit 3) when no attempt was judged."""
    if judged_attempts(doc) > 0:
        return
    totals = doc.get("totals") or {}
    errors = int(totals.get("errors") or 0)
    why = f"{errors} attempts ended in errors" if errors else "no attempt finished"
    exc = UsageError if role == "baseline" else MeasureError
    raise exc(f"{where}: the {role} has 0 judged attempts ({why}): it measured nothing, so there is no ASR to "
              f"compare; run it again against a reachable target")


def require_every_attack_judged(doc: Mapping[str, Any], where: str) -> None:
    """For a new baseline: every attack needs at least one judged attempt, or its ASR is unknown forever."""
    require_judged(doc, where, role="baseline")
    empty = [a["id"] for a in doc.get("attacks") or () if not a.get("attempts")]
    if empty:
        shown = ", ".join(empty[:5]) + (f" and {len(empty) - 5} more" if len(empty) > 5 else "")
        raise UsageError(f"{where}: {len(empty)} attack(s) have 0 judged attempts ({shown}): a baseline needs every "
                         f"attack measured; run it again (or --resume after fixing the target)")


def require_whole_suite(doc: Mapping[str, Any], where: str, *, allow_subset: bool) -> None:
    """A baseline covers the whole suite unless the user says otherwise (`--allow-subset`)."""
    from ..suite.select import selection_from

    sel = doc.get("selection")
    if not sel or allow_subset:
        return
    how = selection_from(sel.get("only"), sel.get("categories"), sel.get("tags")).describe()
    raise UsageError(f"{where}: the run measured {sel.get('attacks')} of {sel.get('of')} attacks ({how}); a baseline "
                     f"covers the whole suite (pass --allow-subset to accept a partial one)")
