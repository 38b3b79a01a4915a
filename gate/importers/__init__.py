"""Registry of importers by `format:` name."""
from __future__ import annotations

from .generic import CsvImporter, JsonImporter, JsonlImporter
from .interface import ImportedRow, ImportError_, Importer

IMPORTERS: dict[str, type[Importer]] = {cls.format: cls for cls in (CsvImporter, JsonlImporter, JsonImporter)}


def get_importer(fmt: str) -> Importer | None:
    cls = IMPORTERS.get(fmt)
    return cls() if cls else None


def guess_format(path: str) -> str | None:
    lower = path.lower()
    for ext, fmt in ((".csv", "csv"), (".jsonl", "jsonl"), (".ndjson", "jsonl"), (".json", "json")):
        if lower.endswith(ext):
            return fmt
    return None


__all__ = ["IMPORTERS", "ImportedRow", "ImportError_", "Importer", "get_importer", "guess_format"]
