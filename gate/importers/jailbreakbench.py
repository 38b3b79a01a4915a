"""JailbreakBench attack artifacts (Chao et al. 2024): `attack-artifacts/<METHOD>/<type>/<model>.json`.

An artifact is a JSON object with `parameters` (method, model, attack_type, ...) and `jailbreaks`:
one record per JBB behaviour with `index`, `goal`, `behavior`, `category`, `prompt` (the adversarial
prompt the method produced; **null** when it produced none, common for PAIR), `response` and
`jailbroken`. Rows without a prompt are skipped.

The id is the behaviour's name (`defamation`), unique within JBB-100; the default id prefix is
`jbb-<method>-<model>` so artifacts of several methods can share a suite. The category is JBB's
(10 OpenAI-policy categories), or the method with `options: {category_from: method}`; the method,
target model and attack type are always tags (`method:PAIR`). The goal is JBB's goal text, for
judges; the artifact's own `jailbroken` label stays in `meta` (it is a machine label).
"""
from __future__ import annotations

from typing import Any, Iterator, Mapping

from .interface import ImportedRow, ImportError_, Importer
from .readers import read_json, slug, text_field


def _artifact(path: str) -> tuple[dict, list]:
    data = read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("jailbreaks"), list):
        raise ImportError_("not a JailbreakBench artifact: expected a JSON object with a `jailbreaks` list", 1)
    params = data.get("parameters") if isinstance(data.get("parameters"), dict) else {}
    return params, data["jailbreaks"]


class JailbreakBenchImporter(Importer):
    format = "jailbreakbench"
    description = "JailbreakBench attack artifact JSON (rows with a null prompt are skipped)"
    OPTIONS = {"category_from": (str,)}
    CHOICES = {"category_from": ("category", "method")}

    def rows(self, path: str, spec: Mapping[str, Any]) -> Iterator[ImportedRow]:
        params, records = _artifact(path)
        method = str(params.get("method") or "unknown")
        by = self.options(spec).get("category_from", "category")
        tags = tuple(f"{k}:{params[k]}" for k in ("method", "model", "attack_type") if params.get(k))
        for i, record in enumerate(records, 1):
            if not isinstance(record, dict):
                raise ImportError_(f"jailbreaks[{i - 1}] is not an object", i)
            if record.get("prompt") is None:
                continue
            prompt = text_field(record, "prompt", i)
            behavior = record.get("behavior") or record.get("index")
            if behavior is None:
                raise ImportError_(f"jailbreaks[{i - 1}] has neither `behavior` nor `index`", i)
            category = method if by == "method" else (text_field(record, "category", i, required=False) or None)
            yield ImportedRow(prompt=prompt, line=i, id=slug(str(behavior)), category=category,
                              goal=text_field(record, "goal", i, required=False),
                              meta={k: v for k, v in record.items() if k not in ("prompt", "response")}, tags=tags)

    def default_prefix(self, path: str, spec: Mapping[str, Any]) -> str:
        try:
            params, _ = _artifact(path)
        except (ImportError_, OSError, UnicodeDecodeError):
            return super().default_prefix(path, spec)
        parts = ["jbb"] + [slug(str(params[k])) for k in ("method", "model") if params.get(k)]
        return "-".join(parts)
