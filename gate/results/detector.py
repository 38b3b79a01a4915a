"""The one detector check: two measurements pair only when the same detector judged both."""
from __future__ import annotations

from typing import Any, Mapping

from ..errors import UsageError

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
    recorded = recorded_detector_hash(doc)
    if recorded is not None and detector_hash is not None and recorded != detector_hash:
        when = "; no model call was made" if before_run else ""
        raise UsageError(DETECTOR_CHANGED.format(where=where, when=when))
