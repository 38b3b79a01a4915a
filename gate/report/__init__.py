"""Views of a verdict and of a run: plain text, Markdown, JSON, JUnit XML (docs/architecture.md).

A view never decides anything: it renders what `gate.verdict` decided. Every string that comes from a
file goes through `escape` first. The formats `asr-gate compare --format` offers are the registry
`FORMATS` (the one registry style of the plugin families, `gate.registry`); each is a module with a
``render(verdict) -> str`` function (`interface.Renderer`).

    FORMATS.get("markdown")(verdict)   # the PR comment body
    tuple(FORMATS)                     # ("text", "json", "markdown", "junit"): the order --help lists
"""
from __future__ import annotations

from ..registry import LazyRegistry

#: report formats: name → its render function, imported on first use
FORMATS = LazyRegistry(__name__, {
    "text": ".text:render",
    "json": ".json_report:render",
    "markdown": ".markdown:render",
    "junit": ".junit:render",
})
