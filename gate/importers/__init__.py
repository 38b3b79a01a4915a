"""Registry of importers by `format:` name.

Generic formats map columns themselves (`csv`, `jsonl`, `json`); dataset formats know their
public file layout (`advbench`, `harmbench`, `strongreject`, `jailbreakbench`, `garak`,
`tensor_trust`, `bipia`, `xstest`, `pyrit`). Each lives in its own module; add one by
subclassing `Importer` and listing it here.
"""
from __future__ import annotations

from .advbench import AdvBenchImporter
from .bipia import BipiaImporter
from .garak import GarakImporter
from .generic import CsvImporter, JsonImporter, JsonlImporter
from .harmbench import HarmBenchImporter
from .interface import ImportedRow, ImportError_, Importer
from .jailbreakbench import JailbreakBenchImporter
from .pyrit import PyritImporter
from .strongreject import StrongRejectImporter
from .tensor_trust import TensorTrustImporter
from .xstest import XSTestImporter

IMPORTERS: dict[str, type[Importer]] = {cls.format: cls for cls in (
    CsvImporter, JsonlImporter, JsonImporter,
    AdvBenchImporter, HarmBenchImporter, StrongRejectImporter, JailbreakBenchImporter, GarakImporter,
    TensorTrustImporter, BipiaImporter, XSTestImporter, PyritImporter,
)}


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
