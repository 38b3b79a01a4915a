"""The detector plugin family: did this reply mean the attack succeeded?

A detector is built from its config (a small mapping such as `{contains: "X"}`) and is called
once per judged attempt. It returns a `Detection` or raises `DetectorError` when it cannot tell
(for example an LLM judge that timed out or answered neither yes nor no): such an attempt is an
*error*, never silently a success or a failure, so it does not bias the ASR.

`synthesize` is the inverse used by the simulated target: a reply this detector would judge as
a success (or a failure). It lets the demo and the benchmarks run offline on any suite.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping


@dataclass(frozen=True)
class DetectContext:
    """What a detector may look at besides the reply: the attempt's canary and prompt.

    `input_text` is the attempt's rendered input as the user side wrote or saw it: every turn after
    the leading system turns, canaries filled in (`gate.suite.canary.visible_input`). The canary
    detector never counts text copied from it.
    """

    canary: str | None = None
    prompt: str = ""
    attack_id: str = ""
    meta: Mapping[str, Any] = field(default_factory=dict)
    input_text: str = ""


@dataclass(frozen=True)
class Detection:
    success: bool
    reason: str = ""


class DetectorError(Exception):
    """The detector could not decide (judge failure, unparsable reply)."""

    def __init__(self, message: str, *, kind: str = "detector_error"):
        super().__init__(message)
        self.kind = kind


class Detector(abc.ABC):
    #: the config key naming this detector (contains, regex, canary, refusal, json_path, judge, any, all, not)
    name: str = ""

    def __init__(self, spec: Any, *, source: str = "<detector>"):
        self.spec = spec
        self.source = source

    @abc.abstractmethod
    def detect(self, reply: str, ctx: DetectContext) -> Detection:
        """Judge one reply; raise DetectorError when undecidable."""

    @abc.abstractmethod
    def synthesize(self, success: bool, ctx: DetectContext) -> str:
        """A reply that this detector judges as `success` (used by the simulated target)."""

    def describe(self) -> Any:
        """A JSON-serialisable descriptor; its canonical hash identifies the detector."""
        return {self.name: self.spec}

    def close(self) -> None:
        """Release resources (a judge's target)."""


def can_synthesize(detector: Detector) -> bool:
    """Whether `detector.synthesize` can produce both outcomes offline (False for an LLM judge).

    A target whose replies come from `Request.oracle` (the simulated one) needs this; the runner checks it
    before such a run instead of failing every attempt.
    """
    return bool(getattr(detector, "synthesizable", True))


def uses_canary(detector: Detector) -> bool:
    """Whether the detector reads `ctx.canary` (the attack's prompt should then contain `{{canary}}`)."""
    return bool(getattr(detector, "needs_canary", False))


def walk(detector: Detector) -> Iterable[Detector]:
    """The detector and every detector nested in it (the children of `any` / `all`, the child of `not`)."""
    yield detector
    for child in getattr(detector, "children", ()):
        yield from walk(child)
    child = getattr(detector, "child", None)
    if isinstance(child, Detector):
        yield from walk(child)


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
