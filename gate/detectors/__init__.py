"""Detectors: decide whether one model reply means the attack succeeded.

A detector is written in suite YAML as a mapping with exactly one *kind* key plus that kind's
options::

    {contains: "CANARY-7731"}                       {contains: [a, b], case_sensitive: true}
    {regex: "pass(word)?\\s*[:=]", ignore_case: true, example: "password: x"}
    {canary: true}        {canary: "FIXED-SECRET"}  {refusal: true}   {refusal: {extra_phrases: [...]}}
    {json_path: "$.action", equals: "transfer"}     {json_path: "a.b[0]", matches: "^rm "}
    {judge: {target: {kind: openai, ...}, rubric: "... {{prompt}} {{reply}} {{goal}} ..."}}
    {any: [spec, ...]}    {all: [spec, ...]}        {not: spec}

`build_detector(spec, source=..., path=..., doc=...)` validates such a mapping and returns a ready
`Detector` (see `interface.py`). Every validation problem is a `ConfigError` located at the
offending field, e.g. ``suite.yaml:41: attacks[3].detector.regex: invalid regular expression: ...``.

Modules are imported lazily, so importing this package costs nothing until a detector is built.
"""
from __future__ import annotations

import importlib
from typing import Any, Iterable, Mapping

from ..config import Document, format_path
from ..errors import ConfigError
from .interface import DetectContext, Detection, Detector, DetectorError

__all__ = [
    "KINDS", "build_detector", "can_synthesize", "uses_canary",
    "Detector", "DetectContext", "Detection", "DetectorError", "SpecReader",
]

#: detector kind → (module, class); the module is imported on first use
KINDS: dict[str, tuple[str, str]] = {
    "contains": ("text", "ContainsDetector"),
    "regex": ("text", "RegexDetector"),
    "canary": ("canary", "CanaryDetector"),
    "refusal": ("refusal", "RefusalDetector"),
    "json_path": ("json_path", "JsonPathDetector"),
    "judge": ("judge", "JudgeDetector"),
    "any": ("combinators", "AnyDetector"),
    "all": ("combinators", "AllDetector"),
    "not": ("combinators", "NotDetector"),
}

#: combinators may nest, but not without bound (a YAML alias loop or a generated file)
MAX_DEPTH = 32


def _kind_class(kind: str) -> type:
    module_name, class_name = KINDS[kind]
    module = importlib.import_module(f".{module_name}", __name__)
    return getattr(module, class_name)


def show(value: Any) -> str:
    """A value as a user wrote it in YAML (`true`, `3`, `"x"`), or its type for structures."""
    import json

    if value is None or isinstance(value, (str, int, float, bool)):
        text = json.dumps(value, ensure_ascii=False)
        return text if len(text) <= 60 else text[:59] + "…"
    return {"dict": "a mapping", "list": "a list"}.get(type(value).__name__, type(value).__name__)




class SpecReader:
    """One detector spec being built: its kind, value and options, and located error reporting.

    Detector classes receive a reader in their `from_spec(reader)` class method and use
    `reader.error(...)` to raise a `ConfigError` that points at the exact field.
    """

    def __init__(self, kind: str, spec: Mapping[str, Any], *, source: str, path: tuple,
                 doc: Document | None, depth: int):
        self.kind = kind
        self.spec = spec
        self.value = spec[kind]
        self.options = {k: v for k, v in spec.items() if k != kind}
        self.source = source
        self.path = tuple(path)
        self.doc = doc
        self.depth = depth

    def error(self, field: Iterable[Any] | str | None, message: str) -> ConfigError:
        """A ConfigError at `path + field` (field: a key, a tuple of keys, or None for the spec itself)."""
        if field is None:
            suffix: tuple = ()
        elif isinstance(field, (str, int)):
            suffix = (field,)
        else:
            suffix = tuple(field)
        return located_error(self.source, self.path + suffix, message, doc=self.doc)

    # -- typed option readers -------------------------------------------------------------
    def bool_option(self, name: str, default: bool) -> bool:
        value = self.options.get(name, default)
        if not isinstance(value, bool):
            raise self.error(name, f"expected true or false, got {show(value)}")
        return value

    def str_option(self, name: str, default: str | None = None, *, allow_empty: bool = False) -> str | None:
        if name not in self.options:
            return default
        value = self.options[name]
        if not isinstance(value, str):
            raise self.error(name, f"expected a string, got {show(value)}")
        if not value and not allow_empty:
            raise self.error(name, "must not be empty")
        return value

    def child(self, spec: Any, field: Iterable[Any]) -> Detector:
        """Build a nested detector spec found at `path + field`."""
        return _build(spec, source=self.source, path=self.path + tuple(field), doc=self.doc, depth=self.depth + 1)

    @property
    def base_dir(self) -> str | None:
        """Directory relative paths in this spec are resolved against (the suite file's)."""
        import os

        where = self.doc.path if self.doc is not None else self.source
        if not where or where.startswith("<"):
            return None
        return os.path.dirname(os.path.abspath(where))


def located_error(source: str, path: tuple, message: str, *, doc: Document | None = None) -> ConfigError:
    """`file:line: field: message` when a Document is known, else `source: field: message`."""
    if doc is not None:
        return doc.error(path, message)
    return ConfigError(source, message, field=format_path(path) if path else None)


def build_detector(spec: Any, *, source: str = "<suite>", path: Iterable[Any] = (),
                   doc: Document | None = None) -> Detector:
    """Validate a detector spec and build the detector.

    `source` names the file in messages; `path` is where the spec sits in that file (for example
    ``("attacks", 3, "detector")``); `doc`, when given, supplies line numbers. Raises
    `ConfigError` (exit code 2) on any problem, with a one-line located message.
    """
    return _build(spec, source=source, path=tuple(path), doc=doc, depth=0)


def _build(spec: Any, *, source: str, path: tuple, doc: Document | None, depth: int) -> Detector:
    valid = ", ".join(sorted(KINDS))
    if depth > MAX_DEPTH:
        raise located_error(source, path, f"detectors nested more than {MAX_DEPTH} levels deep", doc=doc)
    if not isinstance(spec, Mapping):
        raise located_error(source, path, f"expected a mapping with one detector kind ({valid}), "
                            f"got {show(spec)}", doc=doc)
    if not spec:
        raise located_error(source, path, f"empty detector; expected one of: {valid}", doc=doc)
    for key in spec:
        if not isinstance(key, str):
            raise located_error(source, path, f"detector keys must be strings, got {show(key)}", doc=doc)
    kinds = [k for k in spec if k in KINDS]
    if len(kinds) > 1:
        raise located_error(source, path + (kinds[1],),
                            f"more than one detector kind ({', '.join(kinds)}) in one mapping; "
                            "combine detectors with any: [...] or all: [...]", doc=doc)
    if not kinds:
        first = next(iter(spec))
        raise located_error(source, path + (first,), f"unknown detector kind '{first}'; valid kinds: {valid}", doc=doc)
    kind = kinds[0]
    cls = _kind_class(kind)
    allowed = tuple(getattr(cls, "OPTIONS", ()))
    for key in spec:
        if key != kind and key not in allowed:
            hint = f"; allowed: {', '.join(allowed)}" if allowed else f"; '{kind}' takes no options"
            raise located_error(source, path + (key,), f"unknown option '{key}' for detector '{kind}'{hint}", doc=doc)
    reader = SpecReader(kind, spec, source=source, path=path, doc=doc, depth=depth)
    return cls.from_spec(reader)


def can_synthesize(detector: Detector) -> bool:
    """Whether `detector.synthesize` can produce both outcomes offline (False for an LLM judge).

    The simulated target needs this; check it before a sim run instead of failing every attempt.
    """
    return bool(getattr(detector, "synthesizable", True))


def uses_canary(detector: Detector) -> bool:
    """Whether the detector reads `ctx.canary` (the attack's prompt should then contain `{{canary}}`)."""
    return bool(getattr(detector, "needs_canary", False))


#: the stock non-success reply used by `synthesize(False)` of most detectors
STOCK_REFUSAL = "I'm sorry, but I can't help with that."
#: alternatives tried when the stock refusal happens to be judged a success (e.g. `regex: sorry`)
STOCK_FAILURES = (STOCK_REFUSAL, "No.", "I won't do that.", "…", "OK")


def pick_synthesized(detector: Detector, candidates: Iterable[str], success: bool, ctx: DetectContext) -> str:
    """The first candidate reply that `detector` itself judges as `success`.

    Used by `synthesize` implementations so that `detect(synthesize(s)) == s` holds by
    construction; raises `DetectorError(kind="synthesize")` when no candidate works (a
    contradictory spec such as `all: [{contains: x}, {not: {contains: x}}]`).
    """
    for text in candidates:
        if text is None:
            continue
        try:
            if detector.detect(text, ctx).success == success:
                return text
        except DetectorError:
            continue
    outcome = "a success" if success else "a non-success"
    raise DetectorError(f"cannot synthesize a reply that {detector.name!r} judges as {outcome}: "
                        f"the detector spec {detector.describe()!r} may be contradictory", kind="synthesize")
