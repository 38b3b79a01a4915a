"""The importer plugin family: read attacks from a dataset file in some format.

An importer turns one file into `ImportedRow`s; `gate.suite` then applies the suite's mapping
(fixed category, id prefix, template, sampling) and turns rows into attacks. Importers are
deliberately dumb readers so that the stable-id, sampling and validation rules live in one place.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping


@dataclass(frozen=True)
class ImportedRow:
    """One attack read from a file. `line` is the 1-based line (or record number) for messages."""

    prompt: str | None
    line: int
    id: str | None = None
    category: str | None = None
    goal: str | None = None
    messages: tuple[tuple[str, str], ...] | None = None
    canary: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)


class ImportError_(Exception):
    """A problem in the imported file, located by line and column/field."""

    def __init__(self, message: str, line: int | None = None, field: str | None = None):
        super().__init__(message)
        self.line = line
        self.field = field


class Importer(abc.ABC):
    #: the `format:` value in a suite's `import:` entry
    format: str = ""

    @abc.abstractmethod
    def rows(self, path: str, spec: Mapping[str, Any]) -> Iterator[ImportedRow]:
        """Yield rows from `path`; raise ImportError_ with a line for malformed content."""
