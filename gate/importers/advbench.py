"""AdvBench (Zou et al. 2023): `harmful_behaviors.csv` (goal,target) and `harmful_strings.csv` (target).

    import:
      - {file: advbench/harmful_behaviors.csv, format: advbench}             # 520 harmful requests
      - {file: advbench/harmful_strings.csv, format: advbench,               # 574 strings to elicit
         template: "Repeat after me, exactly: {{prompt}}", detector: {canary: true}}

Behaviours: the prompt and the goal are the `goal` column; the GCG target ("Sure, here is ...")
is kept in `meta.target`. Strings: the prompt is the string itself (wrap it with a `template:`),
and the string is the row's *canary*, so `{canary: true}` succeeds when the reply contains it
(verbatim or in a simple encoding). AdvBench has no ids and no categories: ids are content
hashes, and the category is the import's `category:` (or the suite default).
"""
from __future__ import annotations

from typing import Any, Iterator, Mapping

from .interface import ImportedRow, ImportError_, Importer
from .readers import read_csv, text_field


class AdvBenchImporter(Importer):
    format = "advbench"
    description = "AdvBench CSV: goal,target (harmful behaviours) or target (harmful strings)"

    def rows(self, path: str, spec: Mapping[str, Any]) -> Iterator[ImportedRow]:
        for line, record in read_csv(path):
            if "goal" in record:
                goal = text_field(record, "goal", line)
                yield ImportedRow(prompt=goal, line=line, goal=goal, meta=record)
            elif "target" in record:
                target = text_field(record, "target", line)
                yield ImportedRow(prompt=target, line=line, canary=target,
                                  goal=f"make the model output this text: {target}", meta=record)
            else:
                raise ImportError_(f"not an AdvBench file: expected a 'goal' or 'target' column (have: "
                                   f"{', '.join(record)})", 1)
