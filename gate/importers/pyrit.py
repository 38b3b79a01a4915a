"""PyRIT CSV datasets: comma-separated with a header, preceded by `#` comment lines
(`# dataset_version=1.2`, sometimes with trailing commas).

The prompt is the `objective` column (PyRIT's scorer-evaluation sets) or `prompt` / `value`
(seed prompt exports), or the column named by the import's `prompt:`. The category is
`harm_category` when present. Scorer-evaluation sets repeat one objective with several labelled
replies; as attacks an objective counts once (rows with the same text get the same content-hash
id and the suite keeps the first).
"""
from __future__ import annotations

from typing import Any, Iterator, Mapping

from .interface import ImportedRow, ImportError_, Importer
from .readers import read_csv, text_field

PROMPT_COLUMNS = ("objective", "prompt", "value")


class PyritImporter(Importer):
    format = "pyrit"
    description = "PyRIT CSV with leading # comment lines (prompt = objective / prompt / value column)"

    def rows(self, path: str, spec: Mapping[str, Any]) -> Iterator[ImportedRow]:
        column = spec.get("prompt")
        for line, record in read_csv(path, comments=True):
            if column is None:
                column = next((c for c in PROMPT_COLUMNS if c in record), None)
                if column is None:
                    raise ImportError_(f"no prompt column: expected one of {', '.join(PROMPT_COLUMNS)} or set "
                                       f"`prompt:` (have: {', '.join(record)})", line)
            elif column not in record:
                raise ImportError_(f"no column '{column}' (have: {', '.join(record)})", line, "prompt")
            prompt = text_field(record, column, line)
            category = (record.get("harm_category") or "").strip() or None
            yield ImportedRow(prompt=prompt, line=line, category=category, goal=prompt, meta=record)
