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
from typing import Any, Mapping


@dataclass(frozen=True)
class DetectContext:
    """What a detector may look at besides the reply: the attempt's canary and prompt."""

    canary: str | None = None
    prompt: str = ""
    attack_id: str = ""
    meta: Mapping[str, Any] = field(default_factory=dict)


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
