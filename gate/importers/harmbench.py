"""HarmBench behaviours (Mazeika et al. 2024): `harmbench_behaviors_text_{all,test,val}.csv`.

Columns: Behavior, FunctionalCategory (standard / contextual / copyright), SemanticCategory,
Tags, ContextString, BehaviorID. A *contextual* behaviour refers to a passage: the prompt is the
passage, a separator and the request, exactly as HarmBench's own pipeline builds it
(`ContextString + "\\n\\n---\\n\\n" + Behavior`). The id is the BehaviorID, the category the
SemanticCategory (`options: {category_from: functional}` for FunctionalCategory), the goal the
Behavior, and the tags are the functional category plus the file's Tags.
"""
from __future__ import annotations

from typing import Any, Iterator, Mapping

from .interface import ImportedRow, Importer
from .readers import read_csv, text_field

CONTEXT_SEPARATOR = "\n\n---\n\n"
COLUMNS = ("Behavior", "FunctionalCategory", "SemanticCategory", "ContextString", "BehaviorID")


class HarmBenchImporter(Importer):
    format = "harmbench"
    description = "HarmBench behaviours CSV (contextual behaviours joined with their ContextString)"
    OPTIONS = {"category_from": (str,)}
    CHOICES = {"category_from": ("semantic", "functional")}

    def rows(self, path: str, spec: Mapping[str, Any]) -> Iterator[ImportedRow]:
        by = self.options(spec).get("category_from", "semantic")
        for line, record in read_csv(path, required=COLUMNS):
            behavior = text_field(record, "Behavior", line)
            context = (record.get("ContextString") or "").strip()
            prompt = f"{context}{CONTEXT_SEPARATOR}{behavior}" if context else behavior
            functional = text_field(record, "FunctionalCategory", line)
            semantic = text_field(record, "SemanticCategory", line)
            tags = [functional] + [t.strip() for t in (record.get("Tags") or "").split(",") if t.strip()]
            yield ImportedRow(prompt=prompt, line=line, id=text_field(record, "BehaviorID", line),
                              category=semantic if by == "semantic" else functional, goal=behavior,
                              meta=record, tags=tuple(tags))
