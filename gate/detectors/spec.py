"""Reading one detector spec: `SpecReader` hands a kind's `from_spec` its value and typed options, and
turns every problem into a `ConfigError` located at the exact field
(``suite.yaml:41: attacks[3].detector.regex: ...``)."""
from __future__ import annotations

import json
import os
from typing import Any, Iterable, Mapping

from ..config import Document, format_path
from ..errors import ConfigError
from .interface import Detector


def show(value: Any) -> str:
    """A value as a user wrote it in YAML (`true`, `3`, `"x"`), or its type for structures."""
    if value is None or isinstance(value, (str, int, float, bool)):
        text = json.dumps(value, ensure_ascii=False)
        return text if len(text) <= 60 else text[:59] + "…"
    return {"dict": "a mapping", "list": "a list"}.get(type(value).__name__, type(value).__name__)


class SpecReader:
    """One detector spec being built: its kind, value and options, and located error reporting.

    Detector classes receive a reader in their `from_spec(reader)` class method and use
    `reader.error(...)` to raise a `ConfigError` that points at the exact field.
    """

    def __init__(self, kind: str, spec: Mapping[str, Any], *, source: str, path: tuple,
                 doc: Document | None, depth: int):
        self.kind = kind
        self.spec = spec
        self.value = spec[kind]
        self.options = {k: v for k, v in spec.items() if k != kind}
        self.source = source
        self.path = tuple(path)
        self.doc = doc
        self.depth = depth

    def error(self, field: Iterable[Any] | str | None, message: str) -> ConfigError:
        """A ConfigError at `path + field` (field: a key, a tuple of keys, or None for the spec itself)."""
        if field is None:
            suffix: tuple = ()
        elif isinstance(field, (str, int)):
            suffix = (field,)
        else:
            suffix = tuple(field)
        return located_error(self.source, self.path + suffix, message, doc=self.doc)

    # -- typed option readers -------------------------------------------------------------
    def bool_option(self, name: str, default: bool) -> bool:
        value = self.options.get(name, default)
        if not isinstance(value, bool):
            raise self.error(name, f"expected true or false, got {show(value)}")
        return value

    def str_option(self, name: str, default: str | None = None, *, allow_empty: bool = False) -> str | None:
        if name not in self.options:
            return default
        value = self.options[name]
        if not isinstance(value, str):
            raise self.error(name, f"expected a string, got {show(value)}")
        if not value and not allow_empty:
            raise self.error(name, "must not be empty")
        return value

    def child(self, spec: Any, field: Iterable[Any]) -> Detector:
        """Build a nested detector spec found at `path + field`."""
        from . import build_nested  # the package's builder: it knows the kinds

        return build_nested(spec, source=self.source, path=self.path + tuple(field), doc=self.doc,
                            depth=self.depth + 1)

    @property
    def base_dir(self) -> str | None:
        """Directory relative paths in this spec are resolved against (the suite file's)."""
        where = self.doc.path if self.doc is not None else self.source
        if not where or where.startswith("<"):
            return None
        return os.path.dirname(os.path.abspath(where))


def located_error(source: str, path: tuple, message: str, *, doc: Document | None = None) -> ConfigError:
    """`file:line: field: message` when a Document is known, else `source: field: message`."""
    if doc is not None:
        return doc.error(path, message)
    return ConfigError(source, message, field=format_path(path) if path else None)
