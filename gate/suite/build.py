"""Building a suite: defaults, templates and `vars` matrices expanded into concrete attacks.

Expansion order for one written attack: every combination of its `vars` matrix (`id[k=v,...]`),
then every listed transform (`id[...]~base64`; see `transforms.py`). `import:` entries go through
`imports.py`. Every problem is a `ConfigError` located at the offending field (docs/formats.md).
"""
from __future__ import annotations

import itertools
import os
import re
from typing import Any, Iterable, Mapping

from ..config import Document, load_document, validate
from ..hashing import canonical_json, content_hash, short_hash
from ..targets.interface import Message
from .imports import add_imports, scalar_text
from . import canary
from .model import Attack, Suite
from .transforms import TransformError, builtin, define, resolve, variant_id

DEFAULT_ATTEMPTS = 10
DEFAULT_CATEGORY = "default"
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)(?:\.([A-Za-z0-9_]+))?\s*\}\}")
_SLUG = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
#: refuse suites that expand to more attacks than this (a vars matrix can explode)
MAX_ATTACKS = 200_000


def _substitute(doc: Document, path: tuple, text: str, values: Mapping[str, str]) -> str:
    def repl(m: re.Match) -> str:
        name, form = m.group(1), m.group(2)
        if name == "canary":
            try:
                return canary.normalise(m.group())
            except ValueError as exc:
                raise doc.error(path, str(exc)) from None
        if name not in values or form is not None:
            known = ", ".join(sorted(values)) or "none"
            raise doc.error(path, f"unknown placeholder '{m.group()}' (vars defined: {known}; built in: canary, "
                                  f"{canary.known_forms()})")
        return values[name]

    return _PLACEHOLDER.sub(repl, text)


def _var_options(doc: Document, path: tuple, spec: Any) -> list[tuple[str, str]]:
    """(name, value) options of one var: names come from mapping keys or from short values."""
    if isinstance(spec, Mapping):
        return [(str(k), scalar_text(v)) for k, v in spec.items()]
    out = []
    for v in spec:
        text = scalar_text(v)
        out.append((text if _SLUG.match(text) else "h" + short_hash(text), text))
    names = [n for n, _ in out]
    if len(set(names)) != len(names):
        raise doc.error(path, "duplicate values in vars list")
    return out


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


class SuiteBuilder:
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
        out = {}
        for name, spec in specs.items():
            try:
                out[name] = define(name, spec)
            except TransformError as exc:
                raise self.doc.error(("transforms", name) + ((exc.field,) if exc.field else ()), str(exc)) from None
        return out

    def transforms(self, names: list[str] | None, path: tuple) -> list[Any]:
        """The transforms an attack or import expands into: its own list, else the defaults, else none."""
        if names is None:
            names, path = self.default_transforms, ("defaults", "transforms")
        if names is None:
            return [builtin("none")]
        try:
            return resolve(list(names), self.defined_transforms)
        except TransformError as exc:
            raise self.doc.error(path, str(exc)) from None

    def transformed(self, path: tuple, transform: Any, text: str) -> str:
        """`text` through `transform`; a payload holding `{{canary}}` cannot be encoded (located error)."""
        if transform.use == "none":
            return text
        if canary.has_placeholder(text):
            raise self.doc.error(path, f"transform '{transform.name}' cannot encode a payload that contains "
                                       "{{canary}} or a derived form (the token is drawn per attempt): keep the "
                                       "canary in another turn, or set `transform_var:` to the var that holds "
                                       "the payload")
        return transform.apply(text)

    def detector(self, spec: Any, path: tuple) -> Any:
        from ..detectors import build_detector

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
        self._check_judgeable(attack_id, msgs, det, where)
        h = content_hash({"messages": [m.as_dict() for m in msgs], "detector": det.describe()})
        self.attacks.append(Attack(
            id=attack_id, category=category, messages=msgs,
            attempts=int(attempts or self.default_attempts), detector=det, hash=h,
            goal=goal, tags=tuple(tags), prompt_hash=content_hash([m.as_dict() for m in msgs])))

    def _check_judgeable(self, attack_id: str, msgs: tuple[Message, ...], det: Any, where: tuple) -> None:
        """A located error when the attack's input already holds what its canary detector looks for.

        Checked on the attack rendered with a sample token: when a user or assistant turn holds the
        token (verbatim, split letters, a near copy), a reply that only repeats its input would be
        indistinguishable from one that followed the instruction, and the detector counts neither."""
        from ..detectors.canary import CanaryDetector
        from ..detectors.interface import walk

        if not canary.has_placeholder(canary.visible_input(msgs)):
            return
        detectors = [d for d in walk(det) if isinstance(d, CanaryDetector) and d.fixed is None]
        if not detectors:
            return
        text = canary.visible_input(tuple(Message(m.role, canary.render(m.content, SAMPLE_CANARY)) for m in msgs))
        for d in detectors:
            form = d.input_conflict(text, SAMPLE_CANARY)
            if form is not None:
                wanted = "the canary written backwards" if d.form == "reversed" else "the canary"
                raise self.doc.error(where, (
                    f"attack '{attack_id}': a user/assistant turn already holds {wanted} ({form}) that the detector "
                    "looks for, so a reply copying the input could not be told from one that obeyed (copies never "
                    "count): give the token in a form the model must rebuild ({{canary.half1}} ... "
                    "{{canary.half2}} apart, {{canary.base64}}, {{canary.reversed}}, {{canary.hex}}), use "
                    "`form: reversed`, or keep {{canary}} in the system turn (a secret to leak)"))


#: the token the input check renders attacks with (any token of `new_canary`'s shape would do)
SAMPLE_CANARY = "CANARY-5A3C9E1F7B2D"


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


def build_suite(doc: Document) -> Suite:
    """Validate a suite document and expand it into its attacks (ConfigError, located, on any problem)."""
    validate(doc, "suite")
    data = doc.data
    b = SuiteBuilder(doc)
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
                    vals[tvar] = b.transformed(where + ("vars", tvar), t, values[tvar])
                    msgs = _messages_of(doc, where, raw, vals)
                else:
                    msgs = _messages_of(doc, where, raw, values)
                    if t.use != "none":
                        last = max(k for k, m in enumerate(msgs) if m.role == "user")
                        msgs[last] = Message("user", b.transformed(where + ("transforms",), t, msgs[last].content))
                tags = list(raw.get("tags", ())) + ([f"transform:{t.name}"] if t.use != "none" else [])
                b.add(attack_id=variant_id(raw["id"] + suffix, t),
                      category=b.category(raw.get("category"), where + ("category",)),
                      messages=msgs, attempts=raw.get("attempts"), detector_spec=raw.get("detector"),
                      detector_path=where + ("detector",), goal=goal, tags=tags, where=where + ("id",))
    add_imports(b, doc)
    if not b.attacks:
        raise doc.error(("attacks",), "suite has no attacks (add `attacks:` or `import:`)")
    return Suite(id=data["suite"], version=data.get("version"), path=doc.path, attacks=tuple(b.attacks),
                 categories=b.categories, description=data.get("description", ""), skipped=dict(b.skipped))


def load_suite(path: str | os.PathLike) -> Suite:
    """Load, validate and expand a suite file."""
    return build_suite(load_document(path))
