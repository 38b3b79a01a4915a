"""Generic CSV / JSONL / JSON-list importers with a column mapping (`prompt:`, `id:`, ...)."""
from __future__ import annotations

import csv
import json
from typing import Any, Iterator, Mapping

from .interface import ImportedRow, ImportError_, Importer

csv.field_size_limit(16 * 1024 * 1024)


def _row(record: Mapping[str, Any], line: int, spec: Mapping[str, Any]) -> ImportedRow:
    prompt_col = spec.get("prompt", "prompt")
    if prompt_col not in record:
        raise ImportError_(f"no column '{prompt_col}' (have: {', '.join(map(str, list(record)[:12]))})", line, "prompt")
    prompt = record[prompt_col]
    if prompt is None or (isinstance(prompt, str) and not prompt.strip()):
        raise ImportError_(f"empty prompt in column '{prompt_col}'", line, "prompt")

    def opt(key: str) -> str | None:
        col = spec.get(key)
        if not col:
            return None
        if col not in record:
            raise ImportError_(f"no column '{col}'", line, key)
        value = record[col]
        return None if value in (None, "") else str(value)

    return ImportedRow(prompt=str(prompt), line=line, id=opt("id"), category=opt("category_column"), goal=opt("goal"),
                       meta=dict(record))


class CsvImporter(Importer):
    format = "csv"
    description = "any CSV with a header row; map columns with prompt:, id:, category_column:, goal:"

    def rows(self, path: str, spec: Mapping[str, Any]) -> Iterator[ImportedRow]:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            if not reader.fieldnames:
                raise ImportError_("CSV file has no header row", 1)
            for record in reader:
                yield _row(record, reader.line_num, spec)


class JsonlImporter(Importer):
    format = "jsonl"
    description = "one JSON object per line; map keys with prompt:, id:, category_column:, goal:"

    def rows(self, path: str, spec: Mapping[str, Any]) -> Iterator[ImportedRow]:
        with open(path, encoding="utf-8-sig") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ImportError_(f"invalid JSON: {exc.msg}", n) from None
                if not isinstance(record, dict):
                    raise ImportError_("each line must be a JSON object", n)
                yield _row(record, n, spec)


class JsonImporter(Importer):
    """A JSON array of objects (or of strings, each a prompt)."""

    format = "json"
    description = "a JSON array of strings (each a prompt) or of objects (map keys as for jsonl)"

    def rows(self, path: str, spec: Mapping[str, Any]) -> Iterator[ImportedRow]:
        with open(path, encoding="utf-8-sig") as fh:
            try:
                data = json.load(fh)
            except json.JSONDecodeError as exc:
                raise ImportError_(f"invalid JSON: {exc.msg}", exc.lineno) from None
        if not isinstance(data, list):
            raise ImportError_("expected a JSON array", 1)
        for i, record in enumerate(data, 1):
            if isinstance(record, str):
                yield ImportedRow(prompt=record, line=i)
            elif isinstance(record, dict):
                yield _row(record, i, spec)
            else:
                raise ImportError_(f"item {i} is neither a string nor an object", i)
