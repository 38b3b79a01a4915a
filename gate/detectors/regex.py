"""kind: regex — success when a regular expression matches anywhere in the reply.

    {regex: "pass(word)?\\s*[:=]", ignore_case: true, example: "password: hunter2"}

A pure function of the reply, compiled once at build time, and thread-safe.

Bounded: a pattern is user input and a reply is model (or endpoint) output, so a pattern such as
``^(a+)+$`` could backtrack for hours on the right reply, and Python's `re` holds the GIL while it
does (no timeout or stop event would fire). Every user-supplied pattern (this detector and
`json_path`'s ``matches:``) is therefore compiled with the `regex` module (the same syntax as `re`)
and each search runs with a time limit (`BoundedRegex`, default 1 s, ``ASR_GATE_REGEX_TIMEOUT``) and
without the GIL. A search that runs out of time raises `DetectorError` (kind ``regex_timeout``) naming
the pattern: that attempt is an error, never a verdict. `nested_quantifier` finds the usual culprit
for `asr-gate validate`'s warning.

`synthesize(True)` needs a string the pattern matches. Give one with `example:` (it is
checked against the pattern when the suite is loaded). Without it, one is generated from the
pattern's structure: literals as written, character classes by a member, repeats at their minimum
count, the first alternative of a group. That covers ordinary patterns; lookarounds, anchors in odd
places and backreferences may defeat it, in which case the simulated target reports a clear
`DetectorError` asking for `example:`.
"""
from __future__ import annotations

import re
from typing import Any

import regex as _rx

from .. import settings
from .interface import STOCK_FAILURES, DetectContext, Detection, Detector, DetectorError, pick_synthesized
from .spec import SpecReader, show


class BoundedRegex:
    """A user-supplied regular expression whose every search has a time limit (see the module doc).

    ``pattern`` and ``flags`` (``re`` flags) are what `re` would have compiled; `search` returns a match
    or None, and raises `DetectorError` (kind ``regex_timeout``) when the limit is reached. Thread-safe.
    The syntax is `re`'s (the pattern is checked by ``re.compile`` first, which never matches anything, so
    its error messages are the familiar ones), the matching is the `regex` module's. Compiling raises
    ``re.error``, ``regex.error`` or ValueError / OverflowError on a bad pattern.
    """

    def __init__(self, pattern: str, flags: int = 0, *, timeout: float | None = None):
        self.pattern = pattern
        self.flags = flags & re.IGNORECASE
        self.timeout = timeout if timeout is not None else settings.regex_timeout()
        re.compile(pattern, self.flags)
        self._compiled = _rx.compile(pattern, _rx.VERSION0 | (_rx.IGNORECASE if self.flags else 0))

    def search(self, text: str) -> Any:
        try:
            # concurrent=True: the GIL is released while matching, so other workers (and the stop event) run
            return self._compiled.search(text, timeout=self.timeout, concurrent=True)
        except TimeoutError:
            raise DetectorError(f"regex {show(self.pattern)} did not finish within {self.timeout:g}s on a reply of "
                                f"{len(text):,} characters (catastrophic backtracking; see `asr-gate validate`): "
                                f"the attempt is an error, not a verdict", kind="regex_timeout") from None


def compile_bounded(r: SpecReader, field: str, pattern: str, flags: int = 0) -> BoundedRegex:
    """`BoundedRegex` for the spec's ``field``; a bad pattern is a located ConfigError."""
    try:
        return BoundedRegex(pattern, flags)
    except (re.error, _rx.error, ValueError, OverflowError, RecursionError) as exc:
        raise r.error(field, f"invalid regular expression: {exc}") from None


def search_at_load(r: SpecReader, field: str, compiled: BoundedRegex, text: str) -> bool:
    """`compiled.search(text)` while a suite loads (the empty string, an ``example:``); a timeout is a located
    ConfigError instead of an attempt's error."""
    try:
        return compiled.search(text) is not None
    except DetectorError:
        raise r.error(field, f"the regular expression did not finish within {compiled.timeout:g}s on "
                             f"{show(text)} (catastrophic backtracking); rewrite it") from None


def nested_quantifier(pattern: str, flags: int = 0) -> bool:
    """Whether ``pattern`` repeats something that itself repeats (``(a+)+``, ``(\\w*\\s?)*``, ``(x{2,})+``):
    the shape that backtracks exponentially. Possessive repeats and atomic groups do not backtrack and are
    not counted; a pattern `re` cannot parse is not judged (False)."""
    C, P = _sre()
    try:
        tree = P.parse(pattern, flags & re.IGNORECASE)
    except Exception:  # noqa: BLE001 - private parser API, or `regex`-only syntax: not judged
        return False
    repeats = (C.MAX_REPEAT, C.MIN_REPEAT)

    def unbounded(av: Any) -> bool:
        return av[1] is C.MAXREPEAT or av[1] > 1

    def walk(sub: Any, inside: bool) -> bool:
        for op, av in sub:
            if op in repeats and unbounded(av):
                if inside or walk(av[2], True):
                    return True
            elif op in repeats or op is getattr(C, "POSSESSIVE_REPEAT", None):
                if op in repeats and walk(av[2], inside):
                    return True
            elif op is C.SUBPATTERN:
                if walk(av[-1], inside):
                    return True
            elif op is C.BRANCH:
                if any(walk(b, inside) for b in av[1]):
                    return True
            elif op in (C.ASSERT, C.ASSERT_NOT):
                if walk(av[1], inside):
                    return True
        return False

    return walk(tree, False)


def backtracking_patterns(detector: Any) -> list[str]:
    """The user-supplied patterns with a nested quantifier in ``detector`` and the detectors nested in it
    (`regex`, `json_path` ``matches:``), in order, each once (for `asr-gate validate`'s warning)."""
    found: list[str] = []
    stack = [detector]
    while stack:
        d = stack.pop(0)
        if d is None:
            continue
        for attr in ("pattern", "matches"):
            bounded = getattr(d, attr, None)
            if isinstance(bounded, BoundedRegex) and nested_quantifier(bounded.pattern, bounded.flags) \
                    and bounded.pattern not in found:
                found.append(bounded.pattern)
        stack.extend(getattr(d, "children", None) or ())
        stack.append(getattr(d, "child", None))
    return found


def _sre() -> tuple[Any, Any]:
    """`re`'s private constants and parser modules (renamed in Python 3.11)."""
    try:
        from re import _constants as C  # type: ignore[attr-defined]
        from re import _parser as P  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover - Python < 3.11
        import sre_constants as C  # type: ignore[no-redef]
        import sre_parse as P  # type: ignore[no-redef]
    return C, P


class RegexDetector(Detector):
    """Success when the regular expression matches anywhere in the reply (a bounded `re.search`)."""

    name = "regex"
    OPTIONS = ("ignore_case", "example")

    def __init__(self, pattern: str, *, ignore_case: bool = False, example: str | None = None,
                 source: str = "<detector>"):
        spec: dict[str, Any] = {"regex": pattern}
        if ignore_case:
            spec["ignore_case"] = True
        if example is not None:
            spec["example"] = example
        super().__init__(spec, source=source)
        self.pattern = BoundedRegex(pattern, re.IGNORECASE if ignore_case else 0)
        self.example = example if example is not None else example_for_regex(self.pattern)

    @classmethod
    def from_spec(cls, r: SpecReader) -> "RegexDetector":
        if not isinstance(r.value, str):
            raise r.error("regex", f"expected a string, got {show(r.value)}")
        if not r.value:
            raise r.error("regex", "must not be empty")
        ignore_case = r.bool_option("ignore_case", False)
        compiled = compile_bounded(r, "regex", r.value, re.IGNORECASE if ignore_case else 0)
        if search_at_load(r, "regex", compiled, ""):
            raise r.error("regex", "matches the empty string, so every reply would count as a success")
        example = r.str_option("example")
        if example is not None and not search_at_load(r, "example", compiled, example):
            raise r.error("example", "does not match the regex")
        return cls(r.value, ignore_case=ignore_case, example=example, source=r.source)

    def detect(self, reply: str, ctx: DetectContext) -> Detection:
        m = self.pattern.search(reply)
        if m:
            return Detection(True, f"regex matched at offset {m.start()}")
        return Detection(False, "regex did not match")

    def synthesize(self, success: bool, ctx: DetectContext) -> str:
        if success:
            if self.example is None:
                raise DetectorError(f"cannot synthesize a reply matching the regex {self.pattern.pattern!r}; "
                                    "add an `example:` option with a matching string", kind="synthesize")
            return pick_synthesized(self, [self.example], True, ctx)
        return pick_synthesized(self, STOCK_FAILURES, False, ctx)

    def describe(self) -> Any:
        # `example` only feeds the simulated target; it does not change what counts as a success
        return {k: v for k, v in self.spec.items() if k != "example"}


# ---------------------------------------------------------------------------------------------
# a string a regex matches, from its parse tree (best effort; the caller verifies)

_MAX_EXAMPLE = 10_000


def example_for_regex(pattern: "BoundedRegex | re.Pattern") -> str | None:
    """A string `pattern.search` matches, or None when the pattern defeats the simple generator."""
    C, P = _sre()
    try:
        tree = P.parse(pattern.pattern, pattern.flags & re.IGNORECASE)
        text = _Gen(C).run(tree)
    except Exception:  # noqa: BLE001 - private parser API: any surprise means "no example"
        return None
    if len(text) > _MAX_EXAMPLE:
        return None
    try:
        return text if pattern.search(text) else None
    except DetectorError:  # the bounded search ran out of time on its own example
        return None


class _Gen:
    _CATEGORY_CHARS = {
        "CATEGORY_DIGIT": "0", "CATEGORY_NOT_DIGIT": "a", "CATEGORY_SPACE": " ", "CATEGORY_NOT_SPACE": "a",
        "CATEGORY_WORD": "a", "CATEGORY_NOT_WORD": " ", "CATEGORY_LINEBREAK": "\n", "CATEGORY_NOT_LINEBREAK": "a",
    }
    _PROBES = "aAx0 _-.:!\n#zZ9@"

    def __init__(self, C: Any):
        self.C = C
        self.groups: dict[int, str] = {}

    def run(self, sub: Any) -> str:
        C = self.C
        out: list[str] = []
        for op, av in sub:
            if op is C.LITERAL:
                out.append(chr(av))
            elif op is C.NOT_LITERAL:
                out.append("x" if av != ord("x") else "y")
            elif op is C.ANY:
                out.append("x")
            elif op is C.IN:
                out.append(self._in(av))
            elif op is C.BRANCH:
                out.append(self.run(av[1][0]))
            elif op is C.SUBPATTERN:
                group, body = av[0], av[-1]
                text = self.run(body)
                if group is not None:
                    self.groups[group] = text
                out.append(text)
            elif op in (C.MAX_REPEAT, C.MIN_REPEAT) or op is getattr(C, "POSSESSIVE_REPEAT", None):
                lo, _hi, body = av
                if lo > _MAX_EXAMPLE:
                    raise ValueError("repeat too large")
                out.append(self.run(body) * lo)
            elif op is getattr(C, "ATOMIC_GROUP", None):
                out.append(self.run(av))
            elif op is C.GROUPREF:
                out.append(self.groups.get(av, ""))
            elif op in (C.AT, C.ASSERT, C.ASSERT_NOT):
                continue  # anchors and lookarounds: emit nothing, let the caller verify
            else:
                raise ValueError(f"unsupported regex construct {op}")
        return "".join(out)

    def _in(self, items: Any) -> str:
        C = self.C
        if items and items[0][0] is C.NEGATE:
            for ch in self._PROBES:
                if not self._member(ch, items[1:]):
                    return ch
            raise ValueError("negated class excludes every probe character")
        for op, av in items:
            if op is C.LITERAL:
                return chr(av)
            if op is C.RANGE:
                return chr(av[0])
            if op is C.CATEGORY:
                return self._CATEGORY_CHARS.get(str(av).replace("UNI_", "").replace("LOC_", ""), "a")
        raise ValueError("empty character class")

    def _member(self, ch: str, items: Any) -> bool:
        C = self.C
        for op, av in items:
            if op is C.LITERAL and ch == chr(av):
                return True
            if op is C.RANGE and av[0] <= ord(ch) <= av[1]:
                return True
            if op is C.CATEGORY:
                name = str(av)
                if "NOT_" in name:
                    if not self._category_has(ch, name.replace("NOT_", "")):
                        return True
                elif self._category_has(ch, name):
                    return True
        return False

    @staticmethod
    def _category_has(ch: str, name: str) -> bool:
        if "DIGIT" in name:
            return ch.isdigit()
        if "SPACE" in name:
            return ch.isspace()
        if "WORD" in name:
            return ch.isalnum() or ch == "_"
        if "LINEBREAK" in name:
            return ch == "\n"
        return False
