"""The importer plugin family: read attacks from a dataset file in some format.

An importer turns one file into `ImportedRow`s; `gate.suite` then applies the suite's mapping
(`where` filter, category map, fixed category, id prefix, templates, transforms, sampling) and
turns rows into attacks. Importers are deliberately dumb readers so that the stable-id, sampling
and validation rules live in one place.

What an importer decides, because only it knows the format:

* the text to send (`prompt`, or a whole conversation in `messages`),
* the dataset's own stable id when it has one (`id`; otherwise the suite uses a hash of the row's
  content, so re-ordering a file does not change ids),
* the dataset's category, the attack's goal (for judges) and `tags`,
* `canary`: text whose appearance in a reply *is* the attack's success (Tensor Trust's access code,
  AdvBench's harmful string, BIPIA's injected code). A `{canary: true}` detector on such a row
  checks that fixed text instead of a fresh per-attempt token,
* `meta`: the raw fields, which `where:` filters and `category_column:` read,
* `default_detector`: the success oracle the dataset defines, if it defines one.
"""
from __future__ import annotations

import abc
import os
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping

#: where a conversation row's payload goes: an importer that yields `messages` puts this marker in
#: the turn (or inside the document) that carries the attack, and the suite replaces it with the
#: row's `prompt` after applying the import's transforms and template to it
PAYLOAD = "\x00payload\x00"


@dataclass(frozen=True)
class ImportedRow:
    """One attack read from a file. `line` is the 1-based line (or record number) for messages.

    `messages`, when given, is the whole conversation as (role, content) pairs, with `PAYLOAD`
    where `prompt` belongs; otherwise the attack is one user turn holding `prompt`.
    """

    prompt: str | None
    line: int
    id: str | None = None
    category: str | None = None
    goal: str | None = None
    messages: tuple[tuple[str, str], ...] | None = None
    canary: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()


class ImportError_(Exception):
    """A problem in the imported file, located by line and column/field."""

    def __init__(self, message: str, line: int | None = None, field: str | None = None):
        super().__init__(message)
        self.line = line
        self.field = field


class Importer(abc.ABC):
    #: the `format:` value in a suite's `import:` entry
    format: str = ""
    #: one line for `--help`-style listings and error messages
    description: str = ""
    #: format-specific keys accepted under the import's `options:` → allowed Python types
    OPTIONS: Mapping[str, tuple[type, ...]] = {}
    #: option values restricted to a set (option → allowed values)
    CHOICES: Mapping[str, tuple[Any, ...]] = {}

    @abc.abstractmethod
    def rows(self, path: str, spec: Mapping[str, Any]) -> Iterator[ImportedRow]:
        """Yield rows from `path`; raise ImportError_ with a line for malformed content."""

    def default_prefix(self, path: str, spec: Mapping[str, Any]) -> str:
        """The id prefix when the import gives no `id_prefix` (default: the file name without extension)."""
        return os.path.splitext(os.path.basename(path))[0]

    def default_detector(self, path: str, spec: Mapping[str, Any]) -> Any:
        """The dataset's own success oracle as a detector spec, or None (the suite's default applies)."""
        return None

    @staticmethod
    def options(spec: Mapping[str, Any]) -> Mapping[str, Any]:
        return spec.get("options") or {}
