"""kind: contains — success when the reply contains one of the given strings.

    {contains: "CANARY-7731"}                   success when the reply contains the string
    {contains: ["a", "b"], case_sensitive: true}  ... any one of the strings (default: case-insensitive)

A pure function of the reply, and thread-safe.
"""
from __future__ import annotations

from typing import Any

from .interface import STOCK_FAILURES, DetectContext, Detection, Detector, pick_synthesized
from .spec import SpecReader, show

#: needles and examples are config, but keep messages and descriptors readable
_MAX_NEEDLE = 10_000


class ContainsDetector(Detector):
    """Success when the reply contains any of the given strings."""

    name = "contains"
    OPTIONS = ("case_sensitive",)

    def __init__(self, needles: list[str], *, case_sensitive: bool = False, source: str = "<detector>"):
        spec: dict[str, Any] = {"contains": needles[0] if len(needles) == 1 else list(needles)}
        if case_sensitive:
            spec["case_sensitive"] = True
        super().__init__(spec, source=source)
        self.needles = tuple(needles)
        self.case_sensitive = case_sensitive
        self._folded = tuple(n if case_sensitive else n.casefold() for n in needles)

    @classmethod
    def from_spec(cls, r: SpecReader) -> "ContainsDetector":
        value = r.value
        if isinstance(value, str):
            needles = [value]
        elif isinstance(value, list):
            if not value:
                raise r.error("contains", "expected a string or a non-empty list of strings, got an empty list")
            needles = value
        else:
            raise r.error("contains", f"expected a string or a list of strings, got {show(value)}")
        for i, needle in enumerate(needles):
            where = "contains" if isinstance(value, str) else ("contains", i)
            if not isinstance(needle, str):
                raise r.error(where, f"expected a string, got {show(needle)}")
            if not needle:
                raise r.error(where, "must not be empty (an empty string is contained in every reply)")
            if len(needle) > _MAX_NEEDLE:
                raise r.error(where, f"longer than {_MAX_NEEDLE} characters")
        return cls(list(needles), case_sensitive=r.bool_option("case_sensitive", False), source=r.source)

    def detect(self, reply: str, ctx: DetectContext) -> Detection:
        hay = reply if self.case_sensitive else reply.casefold()
        for needle, folded in zip(self.needles, self._folded):
            if folded in hay:
                return Detection(True, f"reply contains {needle!r}")
        return Detection(False, "reply contains none of the strings")

    def synthesize(self, success: bool, ctx: DetectContext) -> str:
        if success:
            return pick_synthesized(self, [f"Sure, here it is: {self.needles[0]}", self.needles[0]], True, ctx)
        return pick_synthesized(self, STOCK_FAILURES, False, ctx)

    def describe(self) -> Any:
        return dict(self.spec)
