"""Registry of importers by `format:` name.

Generic formats map columns themselves (`csv`, `jsonl`, `json`); dataset formats know their
public file layout (`advbench`, `harmbench`, `strongreject`, `jailbreakbench`, `garak`,
`tensor_trust`, `bipia`, `xstest`, `pyrit`). Each lives in its own module, imported on first use
through `IMPORTERS` (a `gate.registry.LazyRegistry`); add one by subclassing `Importer`
(`interface.py`) and listing it here.
"""
from __future__ import annotations

from ..registry import LazyRegistry
from .interface import ImportedRow, ImportError_, Importer

#: `format:` name → Importer subclass, imported on first use
IMPORTERS = LazyRegistry(__name__, {
    "csv": ".generic:CsvImporter",
    "jsonl": ".generic:JsonlImporter",
    "json": ".generic:JsonImporter",
    "advbench": ".advbench:AdvBenchImporter",
    "harmbench": ".harmbench:HarmBenchImporter",
    "strongreject": ".strongreject:StrongRejectImporter",
    "jailbreakbench": ".jailbreakbench:JailbreakBenchImporter",
    "garak": ".garak:GarakImporter",
    "tensor_trust": ".tensor_trust:TensorTrustImporter",
    "bipia": ".bipia:BipiaImporter",
    "xstest": ".xstest:XSTestImporter",
    "pyrit": ".pyrit:PyritImporter",
})


def get_importer(fmt: str) -> Importer | None:
    """A fresh importer for a `format:` value, or None when the format is unknown."""
    return IMPORTERS.get(fmt)() if fmt in IMPORTERS else None


def guess_format(path: str) -> str | None:
    lower = path.lower()
    for ext, fmt in ((".csv", "csv"), (".jsonl", "jsonl"), (".ndjson", "jsonl"), (".json", "json")):
        if lower.endswith(ext):
            return fmt
    return None


__all__ = ["IMPORTERS", "ImportedRow", "ImportError_", "Importer", "get_importer", "guess_format"]
