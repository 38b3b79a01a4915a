"""How well does a detector agree with human labels? The library behind `asr-gate detectors eval`.

Reads a labelled file (CSV with optional `#` comment lines, JSONL, or a JSON array of objects),
runs the detector on every reply and compares its verdicts with the labels. A CSV written by
`detectors sample` (`gate.detectors.labelling`) has its formula escape undone on read, so the
replies are judged exactly as the run judged them.

Reported: n, the confusion matrix, accuracy, precision, recall, specificity and F1. Accuracy,
precision, recall and specificity get Wilson 95% intervals (`gate.stats.wilson_interval`); F1 gets
a percentile bootstrap interval (rows resampled 2,000 times with a fixed seed, so the output is
reproducible). Rows with an empty label are skipped; replies the detector cannot judge (a judge
that failed) are counted as errors and left out, as in a run. bench/detector_accuracy.py uses
the same functions on the public scorer datasets.
"""
from __future__ import annotations

import math
import os
from typing import Any, Iterable, Sequence

from ..errors import UsageError
from .interface import DetectContext, DetectorError

#: bootstrap resamples for the F1 interval, and its seed
BOOTSTRAP_REPS = 2000
BOOTSTRAP_SEED = 20240601
DEFAULT_POSITIVE = ("1", "true", "yes")


# -- reading ----------------------------------------------------------------------------------


def read_labelled(path: str, columns: Sequence[str]) -> list[tuple[int, dict[str, Any]]]:
    """(line, row) pairs of a labelled file; every name in `columns` must exist."""
    from ..importers.interface import ImportError_
    from ..importers.readers import read_csv, read_json, read_jsonl_objects
    from .labelling import is_sample_file, unescape_cell

    if not os.path.isfile(path):
        raise UsageError(f"{path}: no such file")
    lower = path.lower()
    try:
        if lower.endswith((".jsonl", ".ndjson")):
            rows = list(read_jsonl_objects(path))
        elif lower.endswith(".json"):
            data = read_json(path)
            if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
                raise UsageError(f"{path}: expected a JSON array of objects")
            rows = list(enumerate(data, 1))
        else:
            rows = list(read_csv(path, comments=True))
            if is_sample_file(path):  # written by `detectors sample`: undo its formula escape on every cell
                rows = [(line, {k: unescape_cell(v) if isinstance(v, str) else v for k, v in row.items()})
                        for line, row in rows]
    except ImportError_ as exc:
        raise UsageError(f"{path}" + (f":{exc.line}" if exc.line else "") + f": {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read: {exc}") from None
    if not rows:
        raise UsageError(f"{path}: no rows")
    have = list(rows[0][1])
    for col in columns:
        if col not in have:
            raise UsageError(f"{path}: no column '{col}' (have: {', '.join(map(str, have[:15]))})")
    for line, row in rows:
        for col in columns:
            if col not in row:
                raise UsageError(f"{path}:{line}: no field '{col}'")
    return rows


def parse_detector(spec_text: str):
    """Build a detector from an inline spec or a file; UsageError/ConfigError on any problem."""
    import yaml

    from ..config import load_document
    from . import build_detector

    if os.path.isfile(spec_text):
        doc = load_document(spec_text)
        data = doc.data
        path: tuple = ()
        if isinstance(data, dict) and set(data) == {"detector"}:
            data, path = data["detector"], ("detector",)
        return build_detector(data, source=doc.path, path=path, doc=doc)
    try:
        spec = yaml.safe_load(spec_text)
    except yaml.YAMLError as exc:
        what = " ".join(str(getattr(exc, "problem", None) or exc).split())
        raise UsageError(f"--detector: not a file and not valid YAML/JSON: {what}") from None
    if not isinstance(spec, dict):
        raise UsageError(f"--detector: expected a mapping such as '{{refusal: true}}' or a file path, got {spec_text!r}")
    return build_detector(spec, source="--detector")


def label_matcher(positive: str | None):
    """A function label → True (positive) / False (negative) / None (empty: skip the row)."""
    wanted = [positive] if positive is not None else list(DEFAULT_POSITIVE)

    def number(text: str) -> float | None:
        try:
            value = float(text)
        except ValueError:
            return None
        return value if math.isfinite(value) else None

    targets = [(w.strip().casefold(), number(w.strip())) for w in wanted]

    def match(value: Any) -> bool | None:
        if value is None:
            return None
        if isinstance(value, bool):
            text = "true" if value else "false"
        else:
            text = str(value).strip()
        if not text:
            return None
        num = number(text)
        for folded, target_num in targets:
            if num is not None and target_num is not None:
                if num == target_num:
                    return True
            elif text.casefold() == folded:
                return True
        return False

    return match


# -- metrics ----------------------------------------------------------------------------------


def confusion(pairs: Iterable[tuple[bool, bool]]) -> dict[str, int]:
    """{tp, fp, fn, tn} of (predicted, actual) pairs."""
    c = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    for pred, actual in pairs:
        c[("t" if pred == actual else "f") + ("p" if pred else "n")] += 1
    return c


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def f1_score(tp: float, fp: float, fn: float) -> float | None:
    den = 2 * tp + fp + fn
    return 2 * tp / den if den else None


def f1_bootstrap(c: dict[str, int], reps: int = BOOTSTRAP_REPS, seed: int = BOOTSTRAP_SEED) -> tuple[float, float] | None:
    """Percentile bootstrap 95% interval of F1: rows resampled with replacement (multinomial cells)."""
    import numpy as np

    n = sum(c.values())
    if not n or f1_score(c["tp"], c["fp"], c["fn"]) is None:
        return None
    rng = np.random.default_rng(seed)
    cells = rng.multinomial(n, np.array([c["tp"], c["fp"], c["fn"], c["tn"]], dtype=float) / n, size=reps)
    tp, fp, fn = cells[:, 0], cells[:, 1], cells[:, 2]
    den = 2 * tp + fp + fn
    f1 = np.where(den > 0, 2 * tp / np.maximum(den, 1), np.nan)
    f1 = f1[~np.isnan(f1)]
    if not len(f1):
        return None
    low, high = np.percentile(f1, [2.5, 97.5])
    return float(low), float(high)


def metrics(c: dict[str, int]) -> dict[str, Any]:
    """Point estimates and 95% intervals from a confusion matrix."""
    from ..stats import wilson_interval

    tp, fp, fn, tn = c["tp"], c["fp"], c["fn"], c["tn"]
    n = tp + fp + fn + tn
    parts = {"accuracy": (tp + tn, n), "precision": (tp, tp + fp), "recall": (tp, tp + fn), "specificity": (tn, tn + fp)}
    out: dict[str, Any] = {"n": n}
    ci: dict[str, Any] = {}
    for name, (x, m) in parts.items():
        out[name] = _ratio(x, m)
        if m:
            iv = wilson_interval(x, m)
            ci[name] = [round(float(iv.low), 6), round(float(iv.high), 6)]
        else:
            ci[name] = None
    out["f1"] = f1_score(tp, fp, fn)
    boot = f1_bootstrap(c)
    ci["f1"] = [round(boot[0], 6), round(boot[1], 6)] if boot else None
    for key in ("accuracy", "precision", "recall", "specificity", "f1"):
        if out[key] is not None:
            out[key] = round(out[key], 6)
    out["ci"] = ci
    out["ci_method"] = {"accuracy": "wilson", "precision": "wilson", "recall": "wilson", "specificity": "wilson",
                        "f1": f"percentile bootstrap ({BOOTSTRAP_REPS} resamples)"}
    out["confusion"] = dict(c)
    return out


# -- evaluation -------------------------------------------------------------------------------------


def evaluate(path: str, *, text_column: str, label_column: str, detector: Any, positive: str | None = None,
             prompt_column: str | None = None, goal_column: str | None = None,
             canary_column: str | None = None) -> dict[str, Any]:
    """Run `detector` over a labelled file; the result dict `detectors eval` prints (plus `misses`)."""
    columns = [text_column, label_column] + [c for c in (prompt_column, goal_column, canary_column) if c]
    rows = read_labelled(path, columns)
    is_positive = label_matcher(positive)
    pairs: list[tuple[bool, bool]] = []
    misses: list[dict[str, Any]] = []
    skipped = errors = 0
    for line, row in rows:
        actual = is_positive(row[label_column])
        if actual is None:
            skipped += 1
            continue
        text = row[text_column]
        text = "" if text is None else str(text)
        goal = row.get(goal_column) if goal_column else None
        prompt = str(row.get(prompt_column) or "") if prompt_column else ""
        ctx = DetectContext(canary=str(row[canary_column]) if canary_column and row.get(canary_column) else None,
                            prompt=prompt, attack_id=f"line {line}", meta={"goal": goal} if goal else {},
                            input_text=prompt)
        try:
            result = detector.detect(text, ctx)
        except DetectorError as exc:
            if exc.kind == "no_canary" and not canary_column:
                raise UsageError("the detector needs a secret for every row: pass --canary-column "
                                 "(or use a fixed canary such as {canary: \"SECRET\"})") from None
            errors += 1
            continue
        pairs.append((result.success, actual))
        if result.success != actual:
            misses.append({"line": line, "label": row[label_column], "predicted": result.success,
                           "reason": result.reason, "text": text})
    if not pairs:
        raise UsageError(f"{path}: no labelled rows to evaluate ({skipped} without a label, {errors} detector errors)")
    out = metrics(confusion(pairs))
    out.update({"labels": path, "text_column": text_column, "label_column": label_column,
                "positive": positive if positive is not None else list(DEFAULT_POSITIVE),
                "detector": detector.describe(), "skipped": skipped, "errors": errors,
                "positives": out["confusion"]["tp"] + out["confusion"]["fn"],
                "predicted_positives": out["confusion"]["tp"] + out["confusion"]["fp"]})
    out["misses"] = misses
    return out


def _fmt(value: float | None) -> str:
    return "  n/a" if value is None else f"{value:.3f}"


def render_text(r: dict[str, Any], misses: int = 0) -> str:
    """The text report of `evaluate`'s result, with up to `misses` misclassified rows."""
    from ..hashing import canonical_json
    from ..report.escape import log_escape

    c = r["confusion"]
    pos = r["positive"] if isinstance(r["positive"], str) else " / ".join(r["positive"])
    lines = [f"detector {log_escape(canonical_json(r['detector']), 200)}",
             f"labels   {log_escape(r['labels'])}: n = {r['n']} ({r['positives']} positive = label {log_escape(pos)}"
             f" in column {log_escape(r['label_column'])}); {r['skipped']} unlabelled, {r['errors']} detector errors",
             ""]
    for name in ("accuracy", "precision", "recall", "specificity", "f1"):
        ci = r["ci"][name]
        interval = f"[{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "      n/a     "
        method = "bootstrap" if name == "f1" else "Wilson"
        lines.append(f"  {name:<12} {_fmt(r[name])}  {interval}  {method} 95%")
    width = max(len(str(v)) for v in c.values())
    lines += ["",
              "confusion            detector: success   detector: no success",
              f"  label positive     tp = {c['tp']:>{width}}{' ' * 10}fn = {c['fn']:>{width}}",
              f"  label negative     fp = {c['fp']:>{width}}{' ' * 10}tn = {c['tn']:>{width}}"]
    if misses and r.get("misses"):
        lines += ["", f"misclassified (first {min(misses, len(r['misses']))} of {len(r['misses'])}):"]
        for m in r["misses"][:misses]:
            snippet = " ".join(m["text"].split())
            lines.append(f"  line {m['line']}: label {log_escape(m['label'])}, detector "
                         f"{'success' if m['predicted'] else 'no success'} ({log_escape(m['reason'])}): "
                         f"{log_escape(snippet, 160)}")
    return "\n".join(lines)
