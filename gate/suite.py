"""Suites: load a suite YAML, expand templates, vars matrices and imports into concrete attacks.

An `Attack` is the unit of analysis of the whole gate (the statistics pair attacks, not
attempts), so its identity must be stable: the id is written by the user or derived from the
content, and `hash` covers the rendered messages and the detector so that an edited attack is
recognised as *changed* instead of being silently compared with its old self.

Expansion order for one written attack: every combination of its `vars` matrix (`id[k=v,...]`),
then every listed transform (`id[...]~base64`; see `gate.transforms`). For an `import:` entry:
read rows, keep those matching `where:`, drop exact duplicates, sample / limit, then every
template of `templates:` (`prefix:rowid[template=name]`) and every transform. Imported ids come
from the dataset's own ids or a hash of the row's content (never of the template), so changing a
template marks attacks as *changed*, not as new ones.
"""
from __future__ import annotations

import itertools
import os
import random
import re
import secrets
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from . import settings
from .config import Document, load_document, validate
from .errors import ConfigError
from .hashing import content_hash, short_hash
from .targets.interface import Message

DEFAULT_ATTEMPTS = 10
DEFAULT_CATEGORY = "default"
CANARY_PLACEHOLDER = "{{canary}}"
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_SLUG = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
#: refuse suites that expand to more attacks than this (a vars matrix can explode)
MAX_ATTACKS = 200_000


def new_canary() -> str:
    """A fresh random token per attempt: a model cannot have memorised it, so seeing it is a leak."""
    return "CANARY-" + secrets.token_hex(6).upper()


@dataclass(frozen=True)
class Attack:
    id: str
    category: str
    messages: tuple[Message, ...]
    attempts: int
    detector: Any  # gate.detectors.interface.Detector
    hash: str
    goal: str | None = None
    tags: tuple[str, ...] = ()
    prompt_hash: str = ""

    @property
    def uses_canary(self) -> bool:
        return any(CANARY_PLACEHOLDER in m.content for m in self.messages)

    def render(self, canary: str | None) -> tuple[Message, ...]:
        """Messages with `{{canary}}` replaced by this attempt's token."""
        if canary is None or not self.uses_canary:
            return self.messages
        return tuple(Message(m.role, m.content.replace(CANARY_PLACEHOLDER, canary)) for m in self.messages)


@dataclass(frozen=True)
class Suite:
    id: str
    version: Any
    path: str
    attacks: tuple[Attack, ...]
    categories: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    description: str = ""
    #: imported rows left out, by reason ("duplicate", "short canary"), for reports and tests
    skipped: Mapping[str, int] = field(default_factory=dict)

    @property
    def planned(self) -> int:
        return sum(a.attempts for a in self.attacks)

    @property
    def hash(self) -> str:
        return content_hash(sorted((a.id, a.hash, a.attempts) for a in self.attacks))

    def detector_descriptors(self) -> list[Any]:
        """Distinct detector descriptors, sorted canonically (identity of 'how success is judged')."""
        from .hashing import canonical_json

        seen = {canonical_json(a.detector.describe()): a.detector.describe() for a in self.attacks}
        return [seen[k] for k in sorted(seen)]

    def detector_hash(self) -> str:
        return content_hash(self.detector_descriptors())

    def close(self) -> None:
        for a in self.attacks:
            a.detector.close()


def _substitute(doc: Document, path: tuple, text: str, values: Mapping[str, str]) -> str:
    def repl(m: re.Match) -> str:
        name = m.group(1)
        if name == "canary":
            return CANARY_PLACEHOLDER
        if name not in values:
            known = ", ".join(sorted(values)) or "none"
            raise doc.error(path, f"unknown placeholder '{{{{{name}}}}}' (vars defined: {known}; built in: canary)")
        return values[name]

    return _PLACEHOLDER.sub(repl, text)


def _var_options(doc: Document, path: tuple, spec: Any) -> list[tuple[str, str]]:
    """(name, value) options of one var: names come from mapping keys or from short values."""
    if isinstance(spec, Mapping):
        return [(str(k), _scalar(v)) for k, v in spec.items()]
    out = []
    for v in spec:
        text = _scalar(v)
        out.append((text if _SLUG.match(text) else "h" + short_hash(text), text))
    names = [n for n, _ in out]
    if len(set(names)) != len(names):
        raise doc.error(path, "duplicate values in vars list")
    return out


def _scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _matrix(doc: Document, path: tuple, vars_spec: Mapping[str, Any] | None) -> list[tuple[str, dict[str, str]]]:
    """[(id_suffix, {var: value})] for every combination; a single entry with no suffix when no vars."""
    if not vars_spec:
        return [("", {})]
    names = list(vars_spec)
    options = [_var_options(doc, path + ("vars", n), vars_spec[n]) for n in names]
    total = 1
    for o in options:
        total *= len(o)
    if total > MAX_ATTACKS:
        raise doc.error(path + ("vars",), f"vars matrix expands to {total} attacks (limit {MAX_ATTACKS})")
    combos = []
    for choice in itertools.product(*options):
        suffix = "[" + ",".join(f"{n}={c[0]}" for n, c in zip(names, choice)) + "]"
        combos.append((suffix, {n: c[1] for n, c in zip(names, choice)}))
    return combos


class _Builder:
    """Accumulates attacks with the suite's defaults and checks ids and categories as it goes."""

    def __init__(self, doc: Document):
        self.doc = doc
        data = doc.data
        defaults = data.get("defaults") or {}
        self.default_attempts = int(defaults.get("attempts", DEFAULT_ATTEMPTS))
        self.default_category = defaults.get("category")
        self.default_system = defaults.get("system")
        self.categories: dict[str, Mapping[str, Any]] = {k: (v or {}) for k, v in (data.get("categories") or {}).items()}
        self.declared_categories = "categories" in data
        self._detectors: dict[str, Any] = {}
        self.default_detector_spec = defaults.get("detector")
        self.attacks: list[Attack] = []
        self.ids: dict[str, tuple] = {}
        self.defined_transforms = self._define_transforms(data.get("transforms") or {})
        self.default_transforms = defaults.get("transforms")
        #: rows left out of imports, by reason (duplicates, canaries too short to judge)
        self.skipped: dict[str, int] = {}

    def _define_transforms(self, specs: Mapping[str, Any]) -> dict[str, Any]:
        from .transforms import TransformError, define

        out = {}
        for name, spec in specs.items():
            try:
                out[name] = define(name, spec)
            except TransformError as exc:
                raise self.doc.error(("transforms", name) + ((exc.field,) if exc.field else ()), str(exc)) from None
        return out

    def transforms(self, names: list[str] | None, path: tuple) -> list[Any]:
        """The transforms an attack or import expands into: its own list, else the defaults, else none."""
        from .transforms import TransformError, builtin, resolve

        if names is None:
            names, path = self.default_transforms, ("defaults", "transforms")
        if names is None:
            return [builtin("none")]
        try:
            return resolve(list(names), self.defined_transforms)
        except TransformError as exc:
            raise self.doc.error(path, str(exc)) from None

    def detector(self, spec: Any, path: tuple):
        from .detectors import build_detector
        from .hashing import canonical_json

        key = canonical_json(spec)
        if key not in self._detectors:
            self._detectors[key] = build_detector(spec, source=self.doc.path, path=path, doc=self.doc)
        return self._detectors[key]

    def category(self, name: str | None, path: tuple) -> str:
        cat = name or self.default_category
        if not cat:
            if self.declared_categories and len(self.categories) == 1:
                return next(iter(self.categories))
            if self.declared_categories:
                raise self.doc.error(path, "attack has no category (set `category:` or `defaults.category`)")
            return DEFAULT_CATEGORY
        if self.declared_categories and cat not in self.categories:
            raise self.doc.error(path, f"category '{cat}' is not declared under `categories:` "
                                       f"(declared: {', '.join(sorted(self.categories)) or 'none'})")
        return cat

    def add(self, *, attack_id: str, category: str, messages: list[Message], attempts: int | None,
            detector_spec: Any, detector_path: tuple, goal: str | None, tags: Iterable[str], where: tuple) -> None:
        if attack_id in self.ids:
            first = self.doc.line_of(self.ids[attack_id])
            raise self.doc.error(where, f"duplicate attack id '{attack_id}'" + (f" (first on line {first})" if first else ""))
        self.ids[attack_id] = where
        if len(self.attacks) >= MAX_ATTACKS:
            raise self.doc.error(where, f"suite has more than {MAX_ATTACKS} attacks")
        if self.default_system and not any(m.role == "system" for m in messages):
            messages = [Message("system", self.default_system)] + messages
        spec = detector_spec if detector_spec is not None else self.default_detector_spec
        if spec is None:
            raise self.doc.error(where, "no detector: set `detector:` on the attack or `defaults.detector`")
        det = self.detector(spec, detector_path if detector_spec is not None else ("defaults", "detector"))
        msgs = tuple(messages)
        h = content_hash({"messages": [m.as_dict() for m in msgs], "detector": det.describe()})
        self.attacks.append(Attack(
            id=attack_id, category=category, messages=msgs,
            attempts=int(attempts or self.default_attempts), detector=det, hash=h,
            goal=goal, tags=tuple(tags), prompt_hash=content_hash([m.as_dict() for m in msgs])))


def _messages_of(doc: Document, path: tuple, raw: Mapping[str, Any], values: Mapping[str, str]) -> list[Message]:
    if "prompt" in raw and "messages" in raw:
        raise doc.error(path + ("messages",), "give either `prompt` or `messages`, not both")
    if "prompt" in raw:
        msgs = [Message("user", _substitute(doc, path + ("prompt",), raw["prompt"], values))]
    elif "messages" in raw:
        msgs = [Message(m["role"], _substitute(doc, path + ("messages", i, "content"), m["content"], values))
                for i, m in enumerate(raw["messages"])]
        if not any(m.role == "user" for m in msgs):
            raise doc.error(path + ("messages",), "messages need at least one `user` turn")
    else:
        raise doc.error(path, "attack needs `prompt` or `messages`")
    if "system" in raw:
        if any(m.role == "system" for m in msgs):
            raise doc.error(path + ("system",), "`system` given but messages already have a system turn")
        msgs.insert(0, Message("system", _substitute(doc, path + ("system",), raw["system"], values)))
    return msgs


def _transformed(doc: Document, path: tuple, transform: Any, text: str) -> str:
    if transform.use == "none":
        return text
    if CANARY_PLACEHOLDER in text:
        raise doc.error(path, f"transform '{transform.name}' cannot encode a payload that contains {{{{canary}}}} "
                              "(the token is drawn per attempt): keep the canary in another turn, or set "
                              "`transform_var:` to the var that holds the payload")
    return transform.apply(text)


def _variant_id(base: str, transform: Any) -> str:
    return base if transform.use == "none" else f"{base}~{transform.name}"


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
        if not any(text == _scalar(w).strip() for w in options):
            return False
    return True


def _imports(b: _Builder, doc: Document) -> None:
    from .detectors.canary import MIN_FIXED_CANARY
    from .importers import IMPORTERS, ImportError_, get_importer, guess_format
    from .importers.interface import PAYLOAD

    for i, spec in enumerate(doc.data.get("import") or []):
        where = ("import", i)
        file = resolve_import_path(doc, where + ("file",), spec["file"])
        fmt = spec.get("format") or guess_format(file)
        importer = get_importer(fmt) if fmt else None
        if importer is None:
            raise doc.error(where + ("format",), f"unknown import format '{fmt}' (known: {', '.join(sorted(IMPORTERS))})")
        _check_options(doc, where, importer, spec.get("options") or {})
        if "template" in spec and "templates" in spec:
            raise doc.error(where + ("templates",), "give either `template` or `templates`, not both")
        templates = ([("", spec["template"])] if "template" in spec
                     else list((spec.get("templates") or {"": "{{prompt}}"}).items()))
        for name, text in templates:
            if "{{prompt}}" not in text:
                field = ("template",) if not name else ("templates", name)
                raise doc.error(where + field, "a template must contain {{prompt}} (where the row's text goes)")
        read_spec = dict(spec)
        if "contexts" in spec:
            read_spec["contexts"] = resolve_import_path(doc, where + ("contexts",), spec["contexts"])
        try:
            rows = list(importer.rows(file, read_spec))
        except ImportError_ as exc:
            if exc.field and exc.field.split(".")[0] in ("options", "contexts"):
                raise doc.error(where + tuple(exc.field.split(".")), str(exc)) from None
            loc = f"{spec['file']}" + (f":{exc.line}" if exc.line else "")
            raise doc.error(where + ("file",), f"{loc}: {exc.field + ': ' if exc.field else ''}{exc}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise doc.error(where + ("file",), f"cannot read '{spec['file']}': {exc}") from None

        n_read = len(rows)
        if spec.get("where"):
            rows = [r for r in rows if _matches(doc, where, r, spec["where"])]
        detector_spec = spec["detector"] if "detector" in spec else importer.default_detector(file, read_spec)
        effective = detector_spec if detector_spec is not None else b.default_detector_spec
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
            if row.canary is not None and _uses_canary_token(effective) and len(row.canary.strip()) < MIN_FIXED_CANARY:
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

        prefix = spec.get("id_prefix") or importer.default_prefix(file, read_spec)
        transforms = b.transforms(spec.get("transforms"), where + ("transforms",))
        category_map = spec.get("category_map") or {}
        for rid, row in kept:
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
                if category_map:
                    cat = category_map.get(cat if cat is not None else "", category_map.get("*", cat))
            cat = b.category(cat, where + ("category",))
            row_spec = detector_spec
            if row.canary is not None and _uses_canary_token(effective):
                row_spec = _with_canary(effective, row.canary)
            for tname, template in templates:
                for t in transforms:
                    payload = template.replace("{{prompt}}", _transformed(doc, where + ("transforms",), t, row.prompt or ""))
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
                    b.add(attack_id=_variant_id(base, t), category=cat, messages=msgs, attempts=spec.get("attempts"),
                          detector_spec=row_spec, detector_path=where + ("detector",), goal=row.goal,
                          tags=tags, where=where)


def build_suite(doc: Document) -> Suite:
    validate(doc, "suite")
    data = doc.data
    b = _Builder(doc)
    for i, raw in enumerate(data.get("attacks") or []):
        where = ("attacks", i)
        transforms = b.transforms(raw.get("transforms"), where + ("transforms",))
        tvar = raw.get("transform_var")
        if tvar is not None and tvar not in (raw.get("vars") or {}):
            raise doc.error(where + ("transform_var",), f"no var '{tvar}' in this attack's `vars`")
        for suffix, values in _matrix(doc, where, raw.get("vars")):
            goal = _substitute(doc, where + ("goal",), raw["goal"], values) if "goal" in raw else None
            for t in transforms:
                if tvar is not None:
                    vals = dict(values)
                    vals[tvar] = _transformed(doc, where + ("vars", tvar), t, values[tvar])
                    msgs = _messages_of(doc, where, raw, vals)
                else:
                    msgs = _messages_of(doc, where, raw, values)
                    if t.use != "none":
                        last = max(k for k, m in enumerate(msgs) if m.role == "user")
                        msgs[last] = Message("user", _transformed(doc, where + ("transforms",), t, msgs[last].content))
                tags = list(raw.get("tags", ())) + ([f"transform:{t.name}"] if t.use != "none" else [])
                b.add(attack_id=_variant_id(raw["id"] + suffix, t),
                      category=b.category(raw.get("category"), where + ("category",)),
                      messages=msgs, attempts=raw.get("attempts"), detector_spec=raw.get("detector"),
                      detector_path=where + ("detector",), goal=goal, tags=tags, where=where + ("id",))
    _imports(b, doc)
    if not b.attacks:
        raise doc.error(("attacks",), "suite has no attacks (add `attacks:` or `import:`)")
    return Suite(id=data["suite"], version=data.get("version"), path=doc.path, attacks=tuple(b.attacks),
                 categories=b.categories, description=data.get("description", ""), skipped=dict(b.skipped))


def load_suite(path: str | os.PathLike) -> Suite:
    return build_suite(load_document(path))
