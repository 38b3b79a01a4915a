"""Small, strict readers shared by the importers: CSV (optionally with leading `#` comment lines),
JSON and JSONL, each reporting problems as `ImportError_` with a line number."""
from __future__ import annotations

import csv
import io
import json
import re
from typing import Any, Iterator

from .interface import ImportError_

csv.field_size_limit(16 * 1024 * 1024)

_SLUG = re.compile(r"[^a-z0-9]+")


def slug(text: str, limit: int = 48) -> str:
    """`"Harassment/Discrimination"` → `harassment-discrimination` (ids and tags)."""
    s = _SLUG.sub("-", str(text).lower()).strip("-")
    return s[:limit].rstrip("-") or "x"


def read_text(path: str) -> str:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return fh.read()


def read_csv(path: str, *, comments: bool = False, required: tuple[str, ...] = ()) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, record) for every data row of a CSV file with a header row.

    With `comments=True`, lines starting with `#` *before the header* are skipped (PyRIT writes
    `# dataset_version=1.2` there, sometimes with trailing commas). A `#` at the start of a line
    inside the data is content (a markdown heading in a quoted reply), not a comment.
    """
    text = read_text(path)
    skipped = 0
    if comments:
        lines = text.splitlines(True)
        while skipped < len(lines) and (lines[skipped].lstrip().startswith("#") or not lines[skipped].strip()):
            skipped += 1
        text = "".join(lines[skipped:])
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = reader.fieldnames
    except csv.Error as exc:
        raise ImportError_(f"invalid CSV: {exc}", skipped + 1) from None
    if not header:
        raise ImportError_("CSV file has no header row", skipped + 1)
    missing = [c for c in required if c not in header]
    if missing:
        raise ImportError_(f"missing column{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))} "
                           f"(have: {', '.join(header[:12])})", skipped + 1)
    try:
        for record in reader:
            if None in record:  # more fields than the header: csv puts them under the key None
                raise ImportError_(f"row has {len(header) + len(record[None])} fields, the header has {len(header)}",
                                   skipped + reader.line_num)
            yield skipped + reader.line_num, record
    except csv.Error as exc:
        raise ImportError_(f"invalid CSV: {exc}", skipped + reader.line_num) from None


def read_json(path: str) -> Any:
    try:
        return json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise ImportError_(f"invalid JSON: {exc.msg}", exc.lineno) from None


def read_jsonl(path: str) -> Iterator[tuple[int, Any]]:
    """(line, value) for every non-blank line (a last line without a newline counts too)."""
    for n, line in enumerate(read_text(path).splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield n, json.loads(line)
        except json.JSONDecodeError as exc:
            raise ImportError_(f"invalid JSON: {exc.msg}", n) from None


def read_jsonl_objects(path: str, required: tuple[str, ...] = ()) -> Iterator[tuple[int, dict[str, Any]]]:
    for n, record in read_jsonl(path):
        if not isinstance(record, dict):
            raise ImportError_("each line must be a JSON object", n)
        missing = [k for k in required if k not in record]
        if missing:
            raise ImportError_(f"missing key{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))}", n)
        yield n, record


def text_field(record: dict[str, Any], key: str, line: int, *, required: bool = True) -> str | None:
    """A string field, stripped of surrounding whitespace; None (or an error) when empty."""
    value = record.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ImportError_(f"empty '{key}'", line, key)
        return None
    if not isinstance(value, (str, int, float)):
        raise ImportError_(f"'{key}' must be text, got {type(value).__name__}", line, key)
    return str(value).strip()
