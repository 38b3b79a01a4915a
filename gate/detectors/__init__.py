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

The kind modules are imported lazily through `KINDS` (a `gate.registry.LazyRegistry`), so importing
this package costs nothing until a detector is built. The interface and the helpers every kind
uses are in `interface.py`; reading a spec's options is `spec.py`.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from ..config import Document
from ..registry import LazyRegistry
from .interface import DetectContext, Detection, Detector, DetectorError, can_synthesize, uses_canary
from .spec import SpecReader, located_error, show

__all__ = [
    "KINDS", "build_detector", "can_synthesize", "uses_canary",
    "Detector", "DetectContext", "Detection", "DetectorError", "SpecReader",
]

#: detector kind → class, imported on first use
KINDS = LazyRegistry(__name__, {
    "contains": ".contains:ContainsDetector",
    "regex": ".regex:RegexDetector",
    "canary": ".canary:CanaryDetector",
    "refusal": ".refusal:RefusalDetector",
    "json_path": ".json_path:JsonPathDetector",
    "judge": ".judge:JudgeDetector",
    "any": ".combinators:AnyDetector",
    "all": ".combinators:AllDetector",
    "not": ".combinators:NotDetector",
})

#: combinators may nest, but not without bound (a YAML alias loop or a generated file)
MAX_DEPTH = 32


def build_detector(spec: Any, *, source: str = "<suite>", path: Iterable[Any] = (),
                   doc: Document | None = None) -> Detector:
    """Validate a detector spec and build the detector.

    `source` names the file in messages; `path` is where the spec sits in that file (for example
    ``("attacks", 3, "detector")``); `doc`, when given, supplies line numbers. Raises
    `ConfigError` (exit code 2) on any problem, with a one-line located message.
    """
    return build_nested(spec, source=source, path=tuple(path), doc=doc, depth=0)


def build_nested(spec: Any, *, source: str, path: tuple, doc: Document | None, depth: int) -> Detector:
    """`build_detector` for a spec `depth` combinators deep (`SpecReader.child` calls this)."""
    valid = ", ".join(KINDS.names())
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
    cls = KINDS.get(kind)
    allowed = tuple(getattr(cls, "OPTIONS", ()))
    for key in spec:
        if key != kind and key not in allowed:
            hint = f"; allowed: {', '.join(allowed)}" if allowed else f"; '{kind}' takes no options"
            raise located_error(source, path + (key,), f"unknown option '{key}' for detector '{kind}'{hint}", doc=doc)
    reader = SpecReader(kind, spec, source=source, path=path, doc=doc, depth=depth)
    return cls.from_spec(reader)
