"""What a report format is: a function from a verdict to text (registered in `gate.report.FORMATS`).

Formats are plain functions rather than classes because they hold no state: one verdict in, one
document out. Anything that must be escaped is escaped inside the format (`gate.report.escape`).
"""
from __future__ import annotations

from typing import Any, Protocol


class Renderer(Protocol):
    """``render(verdict) -> str``: the whole document, ending with a newline."""

    def __call__(self, verdict: Any) -> str: ...
