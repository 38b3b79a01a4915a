"""StrongREJECT forbidden prompts (Souly et al. 2024): `category, source, forbidden_prompt`.

The category is StrongREJECT's (6 categories), the source becomes a tag (`source:DAN`), the goal
is the prompt. No ids in the file: ids are content hashes.
"""
from __future__ import annotations

from typing import Any, Iterator, Mapping

from .interface import ImportedRow, Importer
from .readers import read_csv, slug, text_field


class StrongRejectImporter(Importer):
    format = "strongreject"
    description = "StrongREJECT CSV: category, source, forbidden_prompt"

    def rows(self, path: str, spec: Mapping[str, Any]) -> Iterator[ImportedRow]:
        for line, record in read_csv(path, required=("category", "forbidden_prompt")):
            prompt = text_field(record, "forbidden_prompt", line)
            source = (record.get("source") or "").strip()
            yield ImportedRow(prompt=prompt, line=line, category=text_field(record, "category", line), goal=prompt,
                              meta=record, tags=(f"source:{slug(source)}",) if source else ())
