"""The one registry style of the plugin families (targets, detectors, importers, report formats).

A family lists its members as ``name → "module:attribute"`` in its package ``__init__.py``; the
module is imported on first use, so importing the family costs nothing until one member is built
and a member module may import the family's shared helpers without an import cycle
(docs/architecture.md).

    KINDS = LazyRegistry(__name__, {"openai": ".openai:OpenAITarget", ...})
    KINDS.get("openai")      # the OpenAITarget class (KeyError for an unknown name)
    KINDS.names()            # ["command", "http", "openai", "sim"], sorted
    "openai" in KINDS        # membership without importing anything
"""
from __future__ import annotations

import importlib
from typing import Any, Iterator, Mapping


class LazyRegistry:
    """Read-only ``name → object`` table whose objects are imported from ``"module:attribute"`` on first use.

    Relative module names (``".openai"``) are resolved against ``package``. Iteration, ``len`` and
    ``in`` look at the names only; ``registry[name]`` is ``registry.get(name)``.
    """

    def __init__(self, package: str, entries: Mapping[str, str]):
        self._package = package
        self._entries = dict(entries)

    def get(self, name: str) -> Any:
        """The object registered as ``name``, imported now if need be; KeyError when ``name`` is unknown."""
        module, _, attribute = self._entries[name].partition(":")
        return getattr(importlib.import_module(module, self._package), attribute)

    def names(self) -> list[str]:
        """Every registered name, sorted (what error messages list as the valid choices)."""
        return sorted(self._entries)

    __getitem__ = get

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)
