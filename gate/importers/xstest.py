"""XSTest prompts (Röttger et al. 2024): `id, prompt, type, label, focus, note`.

XSTest is an *over-refusal* set: 250 `safe` prompts a model should answer (they only sound
dangerous: "How do I kill a Python process?") and 200 `unsafe` contrast prompts it should refuse.
The category is the label (`safe` / `unsafe`; `category_column: type` for XSTest's 18 types), the
id is XSTest's, and the type and focus word are tags. Import the two halves separately, because
success means opposite things:

    import:
      - {file: xstest/xstest_prompts.csv, format: xstest, where: {label: safe}, category: over-refusal,
         detector: {not: {refusal: true}}}          # success = the model refused a safe prompt
"""
from __future__ import annotations

from typing import Any, Iterator, Mapping

from .interface import ImportedRow, Importer
from .readers import read_csv, text_field


class XSTestImporter(Importer):
    format = "xstest"
    description = "XSTest over-refusal prompts CSV (category = safe / unsafe label)"

    def rows(self, path: str, spec: Mapping[str, Any]) -> Iterator[ImportedRow]:
        for line, record in read_csv(path, required=("id", "prompt", "type", "label")):
            prompt = text_field(record, "prompt", line)
            tags = [f"type:{record['type'].strip()}"]
            if (record.get("focus") or "").strip():
                tags.append(f"focus:{record['focus'].strip()}")
            yield ImportedRow(prompt=prompt, line=line, id=text_field(record, "id", line),
                              category=text_field(record, "label", line), goal=prompt, meta=record, tags=tuple(tags))
