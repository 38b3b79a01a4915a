"""A suite's `import:` entries: read a dataset file with its importer and turn the rows into attacks.

For one entry: resolve the file inside the allowed roots, read rows, keep those matching `where:`,
drop exact duplicates (and rows whose canary is too short to judge), sample / limit, then every
template of `templates:` (`prefix:rowid[template=name]`) and every transform. Imported ids come
from the dataset's own ids or a hash of the row's content (never of the template), so changing a
template marks attacks as *changed*, not as new ones (docs/formats.md).

Reading is the importers' job (`gate.importers`); the mapping rules live here, in one place.
"""
from __future__ import annotations

import os
import random
from typing import TYPE_CHECKING, Any, Mapping

from .. import settings
from ..config import Document
from ..hashing import short_hash
from ..targets.interface import Message
from . import canary
from .transforms import variant_id

if TYPE_CHECKING:
    from .build import SuiteBuilder


def scalar_text(v: Any) -> str:
    """A YAML scalar as the text a user wrote (`true`, not `True`)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def allowed_roots() -> list[str]:
    """Directories `import:` may read from: the workspace plus ASR_GATE_DATA_ROOTS (os.pathsep list)."""
    roots = [settings.workspace(), *settings.data_roots()]
    return [os.path.realpath(r) for r in roots]


def resolve_import_path(doc: Document, path: tuple, file: str) -> str:
    """The real path of an imported file, checked to lie inside an allowed root.

    A relative `file` is resolved against the suite's directory; when nothing is there, against
    each `ASR_GATE_DATA_ROOTS` directory in turn (so `file: advbench/harmful_behaviors.csv` works
    wherever the datasets live). Allowed roots: the workspace, the suite's own directory, and the
    data roots; symlinks are resolved before the check.
    """
    base = os.path.dirname(os.path.abspath(doc.path))
    file = os.path.expanduser(file)
    full = os.path.realpath(os.path.join(base, file))
    if not os.path.isabs(file) and not os.path.exists(full):
        for root in allowed_roots()[1:]:
            candidate = os.path.realpath(os.path.join(root, file))
            if os.path.isfile(candidate):
                full = candidate
                break
    roots = allowed_roots() + [os.path.realpath(base)]
    if not any(full == r or full.startswith(r.rstrip(os.sep) + os.sep) for r in roots):
        raise doc.error(path, f"'{file}' is outside the workspace; allowed roots: {', '.join(roots)} "
                              f"(add more with ASR_GATE_DATA_ROOTS)")
    if not os.path.isfile(full):
        looked = [base] + allowed_roots()[1:]
        raise doc.error(path, f"cannot read '{file}': no such file (looked in {', '.join(looked)}; "
                              "add dataset directories with ASR_GATE_DATA_ROOTS)")
    return full


def _uses_canary_token(spec: Any) -> bool:
    """Whether a detector spec contains `{canary: true}` (the per-attempt or per-row canary)."""
    if isinstance(spec, Mapping):
        if spec.get("canary") is True:
            return True
        return any(_uses_canary_token(v) for v in spec.values())
    if isinstance(spec, list):
        return any(_uses_canary_token(v) for v in spec)
    return False


def _with_canary(spec: Any, canary: str) -> Any:
    """The spec with every `{canary: true}` replaced by `{canary: "<row's canary>"}`."""
    if isinstance(spec, Mapping):
        return {k: (canary if k == "canary" and v is True else _with_canary(v, canary)) for k, v in spec.items()}
    if isinstance(spec, list):
        return [_with_canary(v, canary) for v in spec]
    return spec


def _check_options(doc: Document, where: tuple, importer: Any, options: Mapping[str, Any]) -> None:
    allowed = dict(importer.OPTIONS)
    for key, value in options.items():
        if key not in allowed:
            hint = f"allowed: {', '.join(sorted(allowed))}" if allowed else f"format '{importer.format}' takes no options"
            raise doc.error(where + ("options", key), f"unknown option '{key}' ({hint})")
        if not isinstance(value, allowed[key]) or isinstance(value, bool):
            names = " or ".join({"str": "a string", "list": "a list", "int": "an integer"}.get(t.__name__, t.__name__)
                                for t in allowed[key])
            raise doc.error(where + ("options", key), f"expected {names}")
        choices = importer.CHOICES.get(key)
        if choices and isinstance(value, str) and value not in choices:
            raise doc.error(where + ("options", key), f"'{value}' is not one of: {', '.join(choices)}")


def _matches(doc: Document, where: tuple, row: Any, conditions: Mapping[str, Any]) -> bool:
    for key, wanted in conditions.items():
        if key in row.meta:
            value = row.meta[key]
        elif key == "category":
            value = row.category
        else:
            have = ", ".join(["category"] + [str(k) for k in row.meta][:15])
            raise doc.error(where + ("where", key), f"rows have no field '{key}' (have: {have})")
        options = wanted if isinstance(wanted, list) else [wanted]
        text = "" if value is None else str(value).strip()
        if not any(text == scalar_text(w).strip() for w in options):
            return False
    return True


def add_imports(b: SuiteBuilder, doc: Document) -> None:
    """Add the attacks of every `import:` entry of the suite to the builder."""
    for i, spec in enumerate(doc.data.get("import") or []):
        _add_import(b, doc, ("import", i), spec)


def _importer_for(doc: Document, where: tuple, spec: Mapping[str, Any], file: str) -> tuple[str, Any]:
    """(format, importer) of an entry: its `format:` or a guess from the file name; options checked."""
    from ..importers import IMPORTERS, get_importer, guess_format

    fmt = spec.get("format") or guess_format(file)
    importer = get_importer(fmt) if fmt else None
    if importer is None:
        raise doc.error(where + ("format",), f"unknown import format '{fmt}' (known: {', '.join(IMPORTERS.names())})")
    _check_options(doc, where, importer, spec.get("options") or {})
    return fmt, importer


def _templates_of(doc: Document, where: tuple, spec: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(name, text) of every template the rows go through; the single `template:` has the name ''."""
    if "template" in spec and "templates" in spec:
        raise doc.error(where + ("templates",), "give either `template` or `templates`, not both")
    templates = ([("", spec["template"])] if "template" in spec
                 else list((spec.get("templates") or {"": "{{prompt}}"}).items()))
    out = []
    for name, text in templates:
        field = ("template",) if not name else ("templates", name)
        if "{{prompt}}" not in text:
            raise doc.error(where + field, "a template must contain {{prompt}} (where the row's text goes)")
        try:
            out.append((name, canary.normalise(text)))
        except ValueError as exc:
            raise doc.error(where + field, str(exc)) from None
    return out


def _read_rows(doc: Document, where: tuple, spec: Mapping[str, Any], importer: Any, file: str,
               read_spec: Mapping[str, Any]) -> list[Any]:
    """Every row of the file; the importer's problems become errors located at the entry."""
    from ..importers import ImportError_

    try:
        return list(importer.rows(file, read_spec))
    except ImportError_ as exc:
        if exc.field and exc.field.split(".")[0] in ("options", "contexts"):
            raise doc.error(where + tuple(exc.field.split(".")), str(exc)) from None
        loc = f"{spec['file']}" + (f":{exc.line}" if exc.line else "")
        raise doc.error(where + ("file",), f"{loc}: {exc.field + ': ' if exc.field else ''}{exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise doc.error(where + ("file",), f"cannot read '{spec['file']}': {exc}") from None


def _select_rows(b: SuiteBuilder, doc: Document, where: tuple, spec: Mapping[str, Any], rows: list[Any],
                 effective_detector: Any) -> list[tuple[str, Any]]:
    """(row id, row) of the rows kept: `where:` filter, duplicates and unjudgeable canaries dropped,
    then `sample:` / `limit:`. Dropped rows are counted in `b.skipped`."""
    from ..detectors.canary import MIN_FIXED_CANARY

    n_read = len(rows)
    if spec.get("where"):
        rows = [r for r in rows if _matches(doc, where, r, spec["where"])]
    kept, seen = [], {}
    for row in rows:
        content = [row.prompt, [list(m) for m in row.messages] if row.messages else None]
        rid = row.id or short_hash(content, 10)
        if rid in seen:
            if row.id is None or seen[rid][1] == content:
                b.skipped["duplicate"] = b.skipped.get("duplicate", 0) + 1
                continue
            raise doc.error(where + ("file",), f"{spec['file']}:{row.line}: duplicate id '{rid}' "
                                               f"(first on line {seen[rid][0]})")
        if (row.canary is not None and _uses_canary_token(effective_detector)
                and len(row.canary.strip()) < MIN_FIXED_CANARY):
            b.skipped["short canary"] = b.skipped.get("short canary", 0) + 1
            continue
        seen[rid] = (row.line, content)
        kept.append((rid, row))
    if not kept:
        why = " matching `where:`" if spec.get("where") else ""
        raise doc.error(where + ("where" if spec.get("where") else "file",),
                        f"no rows{why} in '{spec['file']}' ({n_read} read)")
    if "sample" in spec and spec["sample"] < len(kept):
        rng = random.Random(spec.get("seed", 0))
        keep = sorted(rng.sample(range(len(kept)), spec["sample"]))
        kept = [kept[k] for k in keep]
    if "limit" in spec:
        kept = kept[: spec["limit"]]
    return kept


def _row_category(b: SuiteBuilder, doc: Document, where: tuple, spec: Mapping[str, Any], row: Any) -> str:
    """The category of a row: the entry's fixed `category:`, else the row's own (or `category_column:`),
    mapped through `category_map:`; checked against the suite's declared categories."""
    if spec.get("category"):
        cat = spec["category"]
    else:
        cat = row.category
        column = spec.get("category_column")
        if column:
            if column not in row.meta:
                raise doc.error(where + ("category_column",), f"rows have no field '{column}'")
            value = row.meta[column]
            cat = None if value in (None, "") else str(value).strip()
        category_map = spec.get("category_map") or {}
        if category_map:
            cat = category_map.get(cat if cat is not None else "", category_map.get("*", cat))
    return b.category(cat, where + ("category",))


def _add_import(b: SuiteBuilder, doc: Document, where: tuple, spec: Mapping[str, Any]) -> None:
    from ..importers.interface import PAYLOAD

    file = resolve_import_path(doc, where + ("file",), spec["file"])
    fmt, importer = _importer_for(doc, where, spec, file)
    templates = _templates_of(doc, where, spec)
    read_spec = dict(spec)
    if "contexts" in spec:
        read_spec["contexts"] = resolve_import_path(doc, where + ("contexts",), spec["contexts"])
    rows = _read_rows(doc, where, spec, importer, file, read_spec)
    detector_spec = spec["detector"] if "detector" in spec else importer.default_detector(file, read_spec)
    effective = detector_spec if detector_spec is not None else b.default_detector_spec
    kept = _select_rows(b, doc, where, spec, rows, effective)

    prefix = spec.get("id_prefix") or importer.default_prefix(file, read_spec)
    transforms = b.transforms(spec.get("transforms"), where + ("transforms",))
    for rid, row in kept:
        cat = _row_category(b, doc, where, spec, row)
        row_spec = detector_spec
        if row.canary is not None and _uses_canary_token(effective):
            row_spec = _with_canary(effective, row.canary)
        for tname, template in templates:
            for t in transforms:
                payload = template.replace("{{prompt}}", b.transformed(where + ("transforms",), t, row.prompt or ""))
                if row.messages:
                    if not any(PAYLOAD in c for _, c in row.messages):
                        raise doc.error(where + ("format",), f"importer '{fmt}' returned a conversation without "
                                                             "a payload marker")
                    msgs = [Message(r, c.replace(PAYLOAD, payload)) for r, c in row.messages]
                else:
                    msgs = [Message("user", payload)]
                base = f"{prefix}:{rid}" + (f"[template={tname}]" if tname else "")
                tags = list(row.tags) + list(spec.get("tags") or [])
                if tname:
                    tags.append(f"template:{tname}")
                if t.use != "none":
                    tags.append(f"transform:{t.name}")
                b.add(attack_id=variant_id(base, t), category=cat, messages=msgs, attempts=spec.get("attempts"),
                      detector_spec=row_spec, detector_path=where + ("detector",), goal=row.goal,
                      tags=tags, where=where)
