"""Suites: load a suite YAML, expand templates, vars matrices and imports into concrete attacks.

An `Attack` is the unit of analysis of the whole gate (the statistics pair attacks, not
attempts), so its identity must be stable: the id is written by the user or derived from the
content, and `hash` covers the rendered messages and the detector so that an edited attack is
recognised as *changed* instead of being silently compared with its old self.
"""
from __future__ import annotations

import itertools
import os
import random
import re
import secrets
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

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


def allowed_roots() -> list[str]:
    """Directories `import:` may read from: the workspace plus ASR_GATE_DATA_ROOTS (os.pathsep list)."""
    roots = [os.environ.get("GITHUB_WORKSPACE") or os.getcwd()]
    roots += [r for r in os.environ.get("ASR_GATE_DATA_ROOTS", "").split(os.pathsep) if r]
    return [os.path.realpath(r) for r in roots]


def resolve_import_path(doc: Document, path: tuple, file: str) -> str:
    base = os.path.dirname(os.path.abspath(doc.path))
    full = os.path.realpath(os.path.join(base, os.path.expanduser(file)))
    roots = allowed_roots()
    if not any(full == r or full.startswith(r.rstrip(os.sep) + os.sep) for r in roots):
        raise doc.error(path, f"'{file}' is outside the workspace; allowed roots: {', '.join(roots)} "
                              f"(add more with ASR_GATE_DATA_ROOTS)")
    if not os.path.isfile(full):
        raise doc.error(path, f"cannot read '{file}': no such file")
    return full


def _imports(b: _Builder, doc: Document) -> None:
    from .importers import ImportError_, get_importer, guess_format

    for i, spec in enumerate(doc.data.get("import") or []):
        where = ("import", i)
        file = resolve_import_path(doc, where + ("file",), spec["file"])
        fmt = spec.get("format") or guess_format(file)
        importer = get_importer(fmt) if fmt else None
        if importer is None:
            from .importers import IMPORTERS
            raise doc.error(where + ("format",), f"unknown import format '{fmt}' (known: {', '.join(sorted(IMPORTERS))})")
        try:
            rows = list(importer.rows(file, spec))
        except ImportError_ as exc:
            loc = f"{spec['file']}" + (f":{exc.line}" if exc.line else "")
            raise doc.error(where + ("file",), f"{loc}: {exc.field + ': ' if exc.field else ''}{exc}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise doc.error(where + ("file",), f"cannot read '{spec['file']}': {exc}") from None
        if "sample" in spec and spec["sample"] < len(rows):
            rng = random.Random(spec.get("seed", 0))
            keep = sorted(rng.sample(range(len(rows)), spec["sample"]))
            rows = [rows[k] for k in keep]
        if "limit" in spec:
            rows = rows[: spec["limit"]]
        prefix = spec.get("id_prefix", os.path.splitext(os.path.basename(file))[0])
        template = spec.get("template")
        for row in rows:
            text = row.prompt or ""
            if template:
                text = template.replace("{{prompt}}", text)
            if row.messages:
                msgs = [Message(r, c) for r, c in row.messages]
            else:
                msgs = [Message("user", text)]
            rid = row.id or short_hash([m.as_dict() for m in msgs], 10)
            cat = b.category(spec.get("category") or row.category, where + ("category",))
            b.add(attack_id=f"{prefix}:{rid}", category=cat, messages=msgs, attempts=spec.get("attempts"),
                  detector_spec=spec.get("detector"), detector_path=where + ("detector",), goal=row.goal,
                  tags=(), where=where)


def build_suite(doc: Document) -> Suite:
    validate(doc, "suite")
    data = doc.data
    b = _Builder(doc)
    for i, raw in enumerate(data.get("attacks") or []):
        where = ("attacks", i)
        for suffix, values in _matrix(doc, where, raw.get("vars")):
            msgs = _messages_of(doc, where, raw, values)
            goal = _substitute(doc, where + ("goal",), raw["goal"], values) if "goal" in raw else None
            b.add(attack_id=raw["id"] + suffix, category=b.category(raw.get("category"), where + ("category",)),
                  messages=msgs, attempts=raw.get("attempts"), detector_spec=raw.get("detector"),
                  detector_path=where + ("detector",), goal=goal, tags=raw.get("tags", ()), where=where + ("id",))
    _imports(b, doc)
    if not b.attacks:
        raise doc.error(("attacks",), "suite has no attacks (add `attacks:` or `import:`)")
    return Suite(id=data["suite"], version=data.get("version"), path=doc.path, attacks=tuple(b.attacks),
                 categories=b.categories, description=data.get("description", ""))


def load_suite(path: str | os.PathLike) -> Suite:
    return build_suite(load_document(path))
