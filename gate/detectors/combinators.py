"""Combinators: `any`, `all`, `not` over other detector specs.

    {any: [{canary: true}, {regex: "password\\s*[:=]"}]}     success when one child succeeds
    {all: [{not: {refusal: true}}, {judge: {...}}]}          ... when every child succeeds
    {not: {contains: "I can't"}}                              ... when the child does not

Children are evaluated in order and evaluation stops as soon as the outcome is known, so put cheap
detectors first: `all: [{refusal: true}, {judge: ...}]` calls the judge only for non-refusals.

Errors (a child raising `DetectorError`, e.g. a judge that timed out):

* `not` propagates the child's error.
* `any` propagates an error only if no other child succeeded (one success decides the outcome).
* `all` propagates an error unless another child failed — the exact dual of `any`: one failure
  decides the outcome, so `all: [{contains: x}, {judge: ...}]` is a plain failure when `x` is
  absent, whatever the judge would have said. When no child failed, the first error is raised.

`synthesize` (for the simulated target) composes the children's: `not` asks its child for the
opposite; `any` uses the first child that can produce a success, and for a failure the first
child's failure text that no child judges a success; `all` uses the first child that can produce a
failure, and for a success joins every child's success text with blank lines (then tries each
child's text alone) and keeps the first candidate every child accepts. A contradictory spec (`all:
[{contains: x}, {not: {contains: x}}]`) raises `DetectorError(kind="synthesize")`; so does one that
needs a judge's verdict.
"""
from __future__ import annotations

from typing import Any, Sequence

from .interface import (STOCK_FAILURES, DetectContext, Detection, Detector, DetectorError, can_synthesize,
                        uses_canary)
from .spec import SpecReader


class _Group(Detector):
    OPTIONS = ()

    def __init__(self, children: Sequence[Detector], *, source: str = "<detector>"):
        super().__init__({self.name: [c.describe() for c in children]}, source=source)
        self.children = tuple(children)
        self.needs_canary = any(uses_canary(c) for c in self.children)
        self.synthesizable = all(can_synthesize(c) for c in self.children)

    @classmethod
    def from_spec(cls, r: SpecReader) -> "_Group":
        if not isinstance(r.value, list) or not r.value:
            raise r.error(r.kind, "expected a non-empty list of detectors")
        return cls([r.child(spec, (r.kind, i)) for i, spec in enumerate(r.value)], source=r.source)

    def describe(self) -> Any:
        return {self.name: [c.describe() for c in self.children]}

    def secrets(self) -> list[str]:
        return [s for c in self.children for s in _secrets(c)]

    def close(self) -> None:
        for c in self.children:
            c.close()

    def _try_synthesize(self, child: Detector, success: bool, ctx: DetectContext) -> str | None:
        if not can_synthesize(child):
            return None
        try:
            return child.synthesize(success, ctx)
        except DetectorError:
            return None

    def _all_judge(self, text: str, success: bool, ctx: DetectContext) -> bool:
        try:
            return all(c.detect(text, ctx).success == success for c in self.children)
        except DetectorError:
            return False


class AnyDetector(_Group):
    """Success when at least one child succeeds."""

    name = "any"

    def detect(self, reply: str, ctx: DetectContext) -> Detection:
        first_error: DetectorError | None = None
        for i, child in enumerate(self.children):
            try:
                d = child.detect(reply, ctx)
            except DetectorError as exc:
                first_error = first_error or exc
                continue
            if d.success:
                return Detection(True, f"any[{i}] {child.name}: {d.reason}")
        if first_error is not None:
            raise first_error
        return Detection(False, "no detector matched")

    def synthesize(self, success: bool, ctx: DetectContext) -> str:
        if success:
            for child in self.children:
                text = self._try_synthesize(child, True, ctx)
                if text is not None:
                    return text
        elif self.synthesizable:
            candidates = [self._try_synthesize(c, False, ctx) for c in self.children] + list(STOCK_FAILURES)
            for text in candidates:
                if text is not None and self._all_judge(text, False, ctx):
                    return text
        raise DetectorError(f"cannot synthesize a reply that 'any' judges as {'a success' if success else 'a non-success'}"
                            + ("" if self.synthesizable else " (a child is an LLM judge)"), kind="synthesize")


class AllDetector(_Group):
    """Success when every child succeeds."""

    name = "all"

    def detect(self, reply: str, ctx: DetectContext) -> Detection:
        first_error: DetectorError | None = None
        reasons = []
        for i, child in enumerate(self.children):
            try:
                d = child.detect(reply, ctx)
            except DetectorError as exc:
                first_error = first_error or exc
                continue
            if not d.success:
                return Detection(False, f"all[{i}] {child.name}: {d.reason}")
            reasons.append(d.reason)
        if first_error is not None:
            raise first_error
        return Detection(True, "; ".join(reasons))

    def synthesize(self, success: bool, ctx: DetectContext) -> str:
        if not success:
            for child in self.children:
                text = self._try_synthesize(child, False, ctx)
                if text is not None:
                    return text
        elif self.synthesizable:
            parts = [self._try_synthesize(c, True, ctx) for c in self.children]
            if all(p is not None for p in parts):
                for text in ["\n\n".join(parts)] + parts:  # type: ignore[arg-type]
                    if self._all_judge(text, True, ctx):
                        return text
        raise DetectorError(f"cannot synthesize a reply that 'all' judges as {'a success' if success else 'a non-success'}"
                            + ("" if self.synthesizable else " (a child is an LLM judge)"), kind="synthesize")


class NotDetector(Detector):
    """Success when the child does not succeed; the child's errors propagate."""

    name = "not"
    OPTIONS = ()

    def __init__(self, child: Detector, *, source: str = "<detector>"):
        super().__init__({"not": child.describe()}, source=source)
        self.child = child
        self.needs_canary = uses_canary(child)
        self.synthesizable = can_synthesize(child)

    @classmethod
    def from_spec(cls, r: SpecReader) -> "NotDetector":
        if not isinstance(r.value, dict):
            raise r.error("not", "expected one detector mapping")
        return cls(r.child(r.value, ("not",)), source=r.source)

    def detect(self, reply: str, ctx: DetectContext) -> Detection:
        d = self.child.detect(reply, ctx)
        return Detection(not d.success, f"not ({self.child.name}: {d.reason})")

    def synthesize(self, success: bool, ctx: DetectContext) -> str:
        return self.child.synthesize(not success, ctx)

    def describe(self) -> Any:
        return {"not": self.child.describe()}

    def secrets(self) -> list[str]:
        return _secrets(self.child)

    def close(self) -> None:
        self.child.close()


def _secrets(detector: Detector) -> list[str]:
    """Secret values a detector holds (a judge's API key), for scrubbing; [] for most detectors."""
    fn = getattr(detector, "secrets", None)
    return list(fn()) if callable(fn) else []
