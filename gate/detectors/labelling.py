"""The labelling loop's first step: a CSV of a run's replies to label by hand (`asr-gate detectors sample`).

    sample → label → `detectors eval --save` → policy `detector_accuracy` (docs/detectors.md)

`sample_replies` reads a run's output directory: the transcript (``transcript.jsonl``: one record per
attempt, replies already scrubbed of the target's secrets by the runner) and ``results.json`` (each
attack's category). It keeps the judged attempts (an attempt that ended in an error has no outcome
to check), and draws up to N per category without replacement, seeded by ``(seed, category)``, so
the same run, N and seed give the same rows on any machine, and adding a category does not change
the rows of the others.

`write_sample` writes the CSV with columns ``attack, category, attempt, detector_said, reply, label``
(plus ``canary`` when the attempts had one, for `--canary-column`). ``detector_said`` is 1 when the
detector reported success; ``label`` is empty for a person to fill in with 1 (the attack succeeded)
or 0 (it did not); rows left empty are skipped by `detectors eval`.

Spreadsheets execute a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and some start one with a
tab or carriage return) as a formula: a model's reply must never run in the labeller's spreadsheet.
Every such cell is written with a leading ``'``, and so is a cell that already starts with ``'``,
so the escape is reversible: `unescape_cell` removes exactly one leading ``'``. The file's first line
is a ``#`` comment that says so; `gate.detectors.evaluation` recognises it and undoes the escape on
every cell, so the text the detector judges in `detectors eval` is the reply the run judged.
"""
from __future__ import annotations

import csv
import io
import os
import random
from typing import Any, Iterable, Mapping

from ..errors import UsageError

#: the first line of a sample file (a `#` comment: `detectors eval` and spreadsheets both keep it apart)
MARKER = "# asr-gate detectors sample v1"
HEADER_NOTE = (f"{MARKER}; label: 1 = the attack succeeded / 0 = it did not / empty = skip; cells starting with "
               f"= + - @ ' (or a tab or carriage return) have a ' added in front so no spreadsheet runs them as a "
               f"formula; detectors eval removes it")
COLUMNS = ("attack", "category", "attempt", "detector_said", "reply", "label")
#: characters that make a spreadsheet cell a formula (OWASP "CSV injection"), and the escape itself
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")


def escape_cell(value: Any) -> str:
    """The cell as written: a leading ' before a formula character (or a ')."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def unescape_cell(text: str) -> str:
    """The inverse of `escape_cell`: exactly one leading ' removed."""
    return text[1:] if text.startswith("'") else text


def is_sample_file(path: str) -> bool:
    """True when ``path`` starts with the sample marker (its cells are escaped)."""
    try:
        with open(path, "r", encoding="utf-8-sig", newline="") as fh:
            return fh.readline().startswith(MARKER)
    except (OSError, UnicodeDecodeError):
        return False


def _categories(results_path: str) -> dict[str, str]:
    from ..results import load_results

    doc = load_results(results_path, strict=False)
    return {str(a["id"]): str(a.get("category") or "uncategorised") for a in doc.get("attacks", [])}


def sample_replies(results_dir: str, per_category: int, seed: int = 0) -> list[dict[str, Any]]:
    """Up to ``per_category`` judged attempts per category of the run in ``results_dir`` (rows for
    `write_sample`, sorted by category, attack and attempt). UsageError on a missing or foreign file."""
    from ..run.output import RESULTS, TRANSCRIPT
    from ..run.transcript import read_transcript_lines

    if per_category < 1:
        raise UsageError("--per-category must be at least 1")
    transcript, results = os.path.join(results_dir, TRANSCRIPT), os.path.join(results_dir, RESULTS)
    for path in (results, transcript):
        if not os.path.isfile(path):
            raise UsageError(f"{path}: no such file (pass the --out directory of an `asr-gate run`)")
    category_of = _categories(results)
    latest: dict[tuple[str, int], dict[str, Any]] = {}
    for line, rec in read_transcript_lines(transcript):
        if not isinstance(rec, dict) or rec.get("success") not in (True, False):
            continue  # an attempt that ended in an error has no outcome to check
        aid, j = rec.get("attack"), rec.get("attempt")
        if not isinstance(aid, str) or type(j) is not int:
            raise UsageError(f"{transcript}:{line}: a judged record needs an attack id and an attempt number")
        if aid not in category_of:
            raise UsageError(f"{transcript}:{line}: attack '{aid[:80]}' is not in {results} (another run's files?)")
        latest[(aid, j)] = rec  # a resumed run may have judged an attempt again: the last record counts
    by_category: dict[str, list[dict[str, Any]]] = {}
    for (aid, j), rec in sorted(latest.items()):
        by_category.setdefault(category_of[aid], []).append(rec)
    rows = []
    for category in sorted(by_category):
        pool = by_category[category]
        picked = random.Random(f"{seed}:{category}").sample(range(len(pool)), min(per_category, len(pool)))
        for i in sorted(picked):
            rec = pool[i]
            rows.append({"attack": rec["attack"], "category": category, "attempt": rec["attempt"],
                         "detector_said": 1 if rec["success"] else 0, "reply": rec.get("reply") or "",
                         "label": "", "canary": rec.get("canary") or ""})
    if not rows:
        raise UsageError(f"{transcript}: no judged attempt to sample")
    return rows


def sample_csv(rows: Iterable[Mapping[str, Any]]) -> str:
    """The CSV text of a sample: the marker line, the header and one escaped row per reply."""
    rows = list(rows)
    columns = COLUMNS + (("canary",) if any(r.get("canary") for r in rows) else ())
    out = io.StringIO(newline="")
    out.write(HEADER_NOTE + "\r\n")
    writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(columns)
    for r in rows:
        writer.writerow([escape_cell(r.get(c, "")) for c in columns])
    return out.getvalue()


def write_sample(path: str, rows: Iterable[Mapping[str, Any]]) -> None:
    # NUL cannot be stored in a CSV cell that readers accept; the runner's replies never contain it in practice
    text = sample_csv(rows).replace("\x00", "\ufffd")
    from ..safe_files import write_text  # renamed into place: never written through a link (issue 14)

    try:
        write_text(path, text)
    except OSError as exc:
        raise UsageError(f"{path}: cannot write ({exc.strerror or exc})") from None
