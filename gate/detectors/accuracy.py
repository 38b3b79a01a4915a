"""A detector's measured accuracy as a file: written by `detectors eval --save`, read by the policy.

The file (schema gate/schemas/detector_accuracy.json, ``asr-gate/detector-accuracy/v1``) records the
confusion counts of the detector on hand-labelled replies, its sensitivity and specificity with
Wilson 95% intervals, the detector's hash and descriptor, the labelled file's name and sha256, and the
date. The policy key ``detector_accuracy`` (top level or per category) points at it; the verdict then
reads the margin on the true scale and reports the ASR corrected for the detector
(docs/statistics.md §3.12, docs/detectors.md).

Loading validates the schema (one located line, exit 2), then the meaning: the estimates must agree
with the counts, the hash with the descriptor, and sensitivity + specificity must exceed 1 (else the
correction is undefined). `DetectorAccuracy.require_matches` refuses a file that measured another
detector than the one that judged the results.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from .. import __version__
from ..errors import ConfigError, UsageError
from ..hashing import canonical_json, content_hash

SCHEMA_ID = "asr-gate/detector-accuracy/v1"
#: estimates in the file may differ from the counts by rounding only
TOLERANCE = 1e-6


def _short(h: str | None) -> str:
    return "none" if not h else h.split(":", 1)[-1][:12]


@dataclass(frozen=True)
class DetectorAccuracy:
    """A detector's confusion counts on labelled replies, and where they came from.

    Positive = the label says the attack succeeded; the detector predicts positive when it reports
    success. ``path`` is the file it was loaded from (None when built in memory)."""

    tp: int
    fp: int
    fn: int
    tn: int
    detector_hash: str
    descriptor: Any = None
    labels_file: str | None = None
    labels_sha256: str | None = None
    created_at: str | None = None
    path: str | None = None

    def __post_init__(self) -> None:
        where = self.name
        if min(self.tp, self.fp, self.fn, self.tn) < 0:
            raise UsageError(f"{where}: confusion counts must be non-negative")
        if self.tp + self.fn == 0:
            raise UsageError(f"{where}: no labelled positive (tp + fn = 0), so the sensitivity is unknown; "
                             f"label replies where the attack succeeded too")
        if self.tn + self.fp == 0:
            raise UsageError(f"{where}: no labelled negative (tn + fp = 0), so the specificity is unknown; "
                             f"label replies where the attack failed too")
        if self.youden <= 0:
            raise UsageError(f"{where}: sensitivity {self.sensitivity:.3f} + specificity {self.specificity:.3f} "
                             f"≤ 1, so the correction is undefined (the detector is no better than chance on "
                             f"these labels; check the label values and --positive)")

    @classmethod
    def from_counts(cls, tp: int, fp: int, fn: int, tn: int, *, descriptor: Any = None,
                    detector_hash: str | None = None, name: str | None = None) -> "DetectorAccuracy":
        """Built in memory (simulations, tests): the hash defaults to that of ``[descriptor]``."""
        return cls(int(tp), int(fp), int(fn), int(tn), detector_hash or content_hash([descriptor]), descriptor,
                   path=name)

    @property
    def name(self) -> str:
        return os.path.basename(self.path) if self.path else "detector accuracy"

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    @property
    def sensitivity(self) -> float:
        return self.tp / (self.tp + self.fn)

    @property
    def specificity(self) -> float:
        return self.tn / (self.tn + self.fp)

    @property
    def youden(self) -> float:
        """J = sensitivity + specificity − 1: observed change = true change × J."""
        return self.sensitivity + self.specificity - 1.0

    def summary(self) -> dict[str, Any]:
        """What a verdict's JSON records about the file (no descriptor: it can be long)."""
        return {"file": self.name, "detector_hash": self.detector_hash, "n": self.n,
                "confusion": {"tp": self.tp, "fp": self.fp, "fn": self.fn, "tn": self.tn},
                "sensitivity": round(self.sensitivity, 6), "specificity": round(self.specificity, 6),
                "youden": round(self.youden, 6), "labels": {"file": self.labels_file, "sha256": self.labels_sha256},
                "created_at": self.created_at}

    def require_matches(self, doc: Mapping[str, Any], *, field: str, where: str = "the results",
                        category: str | None = None) -> None:
        """UsageError (one line) unless this file measured the detector that judged ``doc``.

        For the whole suite (``category`` None) its hash must equal the results' detector hash: the
        suite has this one detector. For a category, the results' per-category hash
        (``detector.categories``) must equal it; results written before that record existed only
        list the suite's detectors, and the file's must then be one of them."""
        det = doc.get("detector")
        det = det if isinstance(det, Mapping) else {}
        recorded, descriptors = det.get("hash"), det.get("descriptor")
        per_category = det.get("categories") if isinstance(det.get("categories"), Mapping) else None
        head = f"policy: {field}: {self.name}"
        fix = ("re-measure it with `asr-gate detectors eval --detector <the suite's detector> --save FILE` on "
               "labelled replies of this suite")
        if recorded is None:
            raise UsageError(f"{head}: {where} record no detector hash, so the file cannot be checked against the "
                             f"detector that judged them; re-run with this version of asr-gate")
        several = isinstance(descriptors, Sequence) and not isinstance(descriptors, str) and len(descriptors) > 1
        if category is None:
            if recorded == self.detector_hash:
                return
            hint = (f" (the suite uses {len(descriptors)} detectors: give each category its own file under "
                    f"categories.<name>.detector_accuracy)" if several else "")
            raise UsageError(f"{head}: measured detector {_short(self.detector_hash)}, but {where} were judged by "
                             f"detector {_short(recorded)}{hint}; {fix}")
        if per_category is not None and category in per_category:
            if per_category[category] == self.detector_hash:
                return
            raise UsageError(f"{head}: measured detector {_short(self.detector_hash)}, but category "
                             f"'{category[:60]}' of {where} was judged by detector {_short(per_category[category])}"
                             f"; {fix}")
        if recorded == self.detector_hash:
            return
        mine = canonical_json(self.descriptor)
        if several and per_category is None and any(canonical_json(d) == mine for d in descriptors):
            return
        raise UsageError(f"{head}: measured detector {_short(self.detector_hash)}, which is not the detector of "
                         f"category '{category[:60]}' in {where}; {fix}")


# -- writing --------------------------------------------------------------------------------------


def file_sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def accuracy_document(result: Mapping[str, Any], labels_path: str, *, created_at: str | None = None) -> dict[str, Any]:
    """The file's content from `gate.detectors.evaluation.evaluate`'s result. UsageError when the
    labels leave sensitivity or specificity undefined, or their sum is ≤ 1 (the policy would refuse
    the file)."""
    from datetime import datetime, timezone

    c = result["confusion"]
    DetectorAccuracy(c["tp"], c["fp"], c["fn"], c["tn"], content_hash([result["detector"]]),
                     path=os.path.basename(labels_path) + " (labels)")
    positive = result.get("positive")
    doc = {
        "schema": SCHEMA_ID,
        "tool": {"name": "asr-gate", "version": __version__},
        "detector": {"hash": content_hash([result["detector"]]), "descriptor": result["detector"]},
        "labels": {"file": os.path.basename(labels_path), "sha256": file_sha256(labels_path),
                   "text_column": result.get("text_column"), "label_column": result.get("label_column"),
                   "positive": list(positive) if isinstance(positive, (list, tuple)) else positive,
                   "skipped": int(result.get("skipped", 0)), "errors": int(result.get("errors", 0))},
        "created_at": created_at or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "n": int(result["n"]),
        "confusion": {k: int(c[k]) for k in ("tp", "fp", "fn", "tn")},
        "sensitivity": {"estimate": result["recall"], "ci95": result["ci"]["recall"], "method": "wilson"},
        "specificity": {"estimate": result["specificity"], "ci95": result["ci"]["specificity"], "method": "wilson"},
        "youden": round(result["recall"] + result["specificity"] - 1.0, 6),
    }
    doc["labels"] = {k: v for k, v in doc["labels"].items() if v is not None}
    return doc


def save_accuracy(path: str, doc: Mapping[str, Any]) -> None:
    from ..results import write_json_atomic

    try:
        write_json_atomic(path, dict(doc))
    except OSError as exc:
        raise UsageError(f"{path}: cannot write ({exc.strerror or exc})") from None


# -- reading --------------------------------------------------------------------------------------


def load_accuracy(path: str | os.PathLike) -> DetectorAccuracy:
    """Load and check a detector accuracy file: schema, then meaning; one located line (exit 2)."""
    from ..config import load_config

    doc = load_config(path, "detector_accuracy")
    data = doc.data
    c = data["confusion"]
    n = sum(c[k] for k in ("tp", "fp", "fn", "tn"))
    if data["n"] != n:
        raise doc.error(("n",), f"{data['n']} is not tp + fp + fn + tn = {n}")
    if content_hash([data["detector"]["descriptor"]]) != data["detector"]["hash"]:
        raise doc.error(("detector", "hash"), "does not match the descriptor (the file was edited?)")
    for key, (x, m) in (("sensitivity", (c["tp"], c["tp"] + c["fn"])), ("specificity", (c["tn"], c["tn"] + c["fp"]))):
        if m == 0:
            what = "positive (tp + fn = 0)" if key == "sensitivity" else "negative (tn + fp = 0)"
            raise doc.error(("confusion",), f"no labelled {what}: the {key} is unknown")
        if abs(data[key]["estimate"] - x / m) > TOLERANCE:
            raise doc.error((key, "estimate"), f"{data[key]['estimate']} does not match the counts ({x}/{m} = "
                                               f"{x / m:.6f})")
    se, sp = c["tp"] / (c["tp"] + c["fn"]), c["tn"] / (c["tn"] + c["fp"])
    if se + sp <= 1:
        raise doc.error(("specificity",), f"sensitivity {se:.3f} + specificity {sp:.3f} ≤ 1: the correction "
                                          f"(sens + spec − 1 in the denominator) is undefined")
    try:
        return DetectorAccuracy(c["tp"], c["fp"], c["fn"], c["tn"], data["detector"]["hash"],
                                data["detector"]["descriptor"], data["labels"]["file"], data["labels"]["sha256"],
                                data["created_at"], os.fspath(path))
    except UsageError as exc:  # pragma: no cover - every case is checked above
        raise ConfigError(os.fspath(path), str(exc)) from None
