"""The suite model: `Attack` (the unit of analysis of the whole gate) and `Suite`.

An attack's identity must be stable: the id is written by the user or derived from the content,
and `hash` covers the rendered messages and the detector so that an edited attack is recognised
as *changed* instead of being silently compared with its old self (docs/formats.md).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from ..hashing import canonical_json, content_hash
from ..targets.interface import Message
from .canary import CANARY_PLACEHOLDER, has_placeholder, new_canary, render

__all__ = ["Attack", "Suite", "CANARY_PLACEHOLDER", "new_canary"]


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
        """Whether a turn holds `{{canary}}` or a derived form of it (`{{canary.half1}}`, ...)."""
        return any(has_placeholder(m.content) for m in self.messages)

    def render(self, canary: str | None) -> tuple[Message, ...]:
        """Messages with `{{canary}}` and its derived forms (`gate/suite/canary.py`) filled in from this
        attempt's token."""
        if canary is None or not self.uses_canary:
            return self.messages
        return tuple(Message(m.role, render(m.content, canary)) for m in self.messages)


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
        seen = {canonical_json(a.detector.describe()): a.detector.describe() for a in self.attacks}
        return [seen[k] for k in sorted(seen)]

    def detector_hash(self) -> str:
        return content_hash(self.detector_descriptors())

    def category_detector_hashes(self) -> dict[str, str]:
        """category → the hash of its distinct detectors (the `detector_hash` formula over that
        category's attacks): which detector judged which category, for a per-category detector
        accuracy file (docs/statistics.md §3.12)."""
        by_cat: dict[str, dict[str, Any]] = {}
        for a in self.attacks:
            d = a.detector.describe()
            by_cat.setdefault(a.category, {})[canonical_json(d)] = d
        return {cat: content_hash([ds[k] for k in sorted(ds)]) for cat, ds in sorted(by_cat.items())}

    def close(self) -> None:
        for a in self.attacks:
            a.detector.close()
