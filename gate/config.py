"""Load user YAML/JSON files and validate them, turning every problem into one located line.

The contract (docs/architecture.md): a bad file is reported as `path:line: field: what is wrong` with exit
code 2, never a traceback. To get there we parse twice over the same text: once into plain Python
data, once into PyYAML's node tree to learn the line of every key and value. The node walk also
rejects duplicate keys (YAML allows them silently, which would drop an attack without a word) and
alias bombs (a few lines of anchors can expand to billions of nodes).
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any, Iterable, Mapping

import yaml

from .errors import ConfigError

#: refuse config files larger than this before reading them into memory
MAX_CONFIG_BYTES = 8 * 1024 * 1024
#: refuse documents whose alias-expanded size exceeds this many nodes
MAX_EXPANDED_NODES = 2_000_000

Path = tuple  # a JSON path: a tuple of str keys and int indices


def format_path(path: Iterable[Any]) -> str:
    """`("attacks", 0, "prompt")` → `attacks[0].prompt` (what users see in messages)."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


@dataclass
class Document:
    """Parsed file data plus where each part of it came from.

    For JSON files parsed by the fast path, `lines` is computed from `text` only when an error
    needs a line number (a 10,000-attack results file loads in milliseconds that way)."""

    path: str
    data: Any
    _lines: dict[Path, int] | None = None
    text: str | None = field(default=None, repr=False)

    @property
    def lines(self) -> dict[Path, int]:
        if self._lines is None:
            self._lines = {}
            if self.text is not None:
                try:
                    node = yaml.compose(self.text, Loader=_Loader)
                    if node is not None:
                        _walk(self.path, node, (), self._lines, {})
                except (yaml.YAMLError, ConfigError):
                    pass
        return self._lines

    def line_of(self, path: Iterable[Any]) -> int | None:
        """Line of the nearest located ancestor of `path` (1-based)."""
        p = tuple(path)
        while True:
            if p in self.lines:
                return self.lines[p]
            if not p:
                return None
            p = p[:-1]

    def error(self, path: Iterable[Any], message: str) -> ConfigError:
        """A ConfigError located at `path` in this document."""
        p = tuple(path)
        return ConfigError(self.path, message, line=self.line_of(p), field=format_path(p) if p else None)


class _Loader(yaml.SafeLoader):
    """SafeLoader (no arbitrary objects)."""


def _read_text(path: str, max_bytes: int = MAX_CONFIG_BYTES) -> str:
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise ConfigError(path, f"cannot read file ({exc.strerror or exc})") from None
    if os.path.isdir(path):
        raise ConfigError(path, "is a directory, expected a YAML or JSON file")
    if size > max_bytes:
        raise ConfigError(path, f"file is {size} bytes, larger than the {max_bytes}-byte limit for this kind of file")
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise ConfigError(path, f"cannot read file ({exc.strerror or exc})") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(path, f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})", line=line) from None


def _walk(doc_path: str, node: yaml.Node, path: Path, lines: dict, seen: dict[int, int]) -> int:
    """Record lines, reject duplicate keys; return the alias-expanded size of `node`."""
    nid = id(node)
    if nid in seen:  # an alias: count its expanded size again but do not walk it again
        return seen[nid]
    seen[nid] = 1  # guards against recursive aliases
    lines.setdefault(path, node.start_mark.line + 1)
    size = 1
    if isinstance(node, yaml.MappingNode):
        keys: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else repr(key_node.value)
            if key == "<<":
                size += _walk(doc_path, value_node, path, lines, seen)
                continue
            line = key_node.start_mark.line + 1
            if key in keys:
                raise ConfigError(doc_path, f"duplicate key '{key}' (first defined on line {keys[key]})",
                                  line=line, field=format_path(path + (key,)))
            keys[key] = line
            lines[path + (key,)] = line
            size += _walk(doc_path, value_node, path + (key,), lines, seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            size += _walk(doc_path, item, path + (i,), lines, seen)
    if size > MAX_EXPANDED_NODES:
        raise ConfigError(doc_path, f"document expands to more than {MAX_EXPANDED_NODES} nodes (YAML alias bomb?)",
                          line=node.start_mark.line + 1)
    seen[nid] = size
    return size


def _check_numbers(doc: Document, data: Any, path: Path = ()) -> None:
    """Reject NaN and infinities: they slip through JSON Schema and poison every statistic."""
    if isinstance(data, float) and not math.isfinite(data):
        raise doc.error(path, f"{data} is not a finite number")
    if isinstance(data, dict):
        for k, v in data.items():
            _check_numbers(doc, v, path + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            _check_numbers(doc, v, path + (i,))


class _NotPlainJson(Exception):
    """The fast JSON path declines (duplicate keys, NaN...); the YAML path then locates the problem."""


def _pairs(pairs: list) -> dict:
    out = {}
    for k, v in pairs:
        if k in out:
            raise _NotPlainJson()
        out[k] = v
    return out


def _no_constants(name: str) -> Any:
    raise _NotPlainJson()


def _fast_json(path: str, text: str) -> Document | None:
    """json.loads for files that are plain JSON: ~100x faster than the YAML path on big results."""
    if not text.lstrip().startswith(("{", "[")):
        return None
    try:
        data = json.loads(text, object_pairs_hook=_pairs, parse_constant=_no_constants)
    except (ValueError, _NotPlainJson, RecursionError):
        return None
    return Document(path, data, None, text)


def load_document(path: str | os.PathLike, *, max_bytes: int = MAX_CONFIG_BYTES) -> Document:
    """Parse a YAML (or JSON, which is YAML) file into a located Document."""
    path = os.fspath(path)
    text = _read_text(path, max_bytes)
    fast = _fast_json(path, text)
    if fast is not None:
        return fast
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        what = " ".join(str(exc.problem or exc).split())
        raise ConfigError(path, f"invalid YAML: {what}", line=line) from None
    except yaml.YAMLError as exc:
        raise ConfigError(path, f"invalid YAML: {' '.join(str(exc).split())}") from None
    except RecursionError:
        raise ConfigError(path, "nested too deeply", line=1) from None
    if node is None:
        raise ConfigError(path, "file is empty", line=1)
    lines: dict[Path, int] = {}
    try:
        _walk(path, node, (), lines, {})
    except RecursionError:
        raise ConfigError(path, "nested too deeply", line=1) from None
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:  # constructor errors (bad timestamps, unknown tags, ...)
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(path, f"invalid YAML: {' '.join(str(getattr(exc, 'problem', exc)).split())}",
                          line=mark.line + 1 if mark else None) from None
    except ValueError as exc:  # e.g. an integer longer than Python converts (4,300 digits)
        raise ConfigError(path, f"invalid value: {' '.join(str(exc).split())[:160]}") from None
    except RecursionError:
        raise ConfigError(path, "nested too deeply", line=1) from None
    doc = Document(path, data, lines, text)
    try:
        _check_numbers(doc, data)
    except RecursionError:
        raise ConfigError(path, "nested too deeply", line=1) from None
    return doc


@lru_cache(maxsize=None)
def load_schema(name: str) -> dict:
    """A JSON Schema shipped in gate/schemas/ by its short name (suite, target, policy, results, ...)."""
    text = resources.files("gate.schemas").joinpath(f"{name}.json").read_text(encoding="utf-8")
    return json.loads(text)


def validate(doc: Document, schema: Mapping[str, Any] | str, *, base: Path = (), data: Any = None) -> None:
    """Validate `doc.data` (or `data` found at `base`) against a schema; raise one located ConfigError."""
    import jsonschema

    if isinstance(schema, str):
        schema = load_schema(schema)
    target = doc.data if data is None else data
    cls = jsonschema.validators.validator_for(schema)
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    errors = list(validator.iter_errors(target))
    if not errors:
        return
    err = jsonschema.exceptions.best_match(errors, key=lambda e: (-len(e.absolute_path),) + jsonschema.exceptions.relevance(e))
    # descend into the most specific cause of anyOf/oneOf failures
    while err.context:
        err = jsonschema.exceptions.best_match(err.context)
    where = base + tuple(err.absolute_path)
    if err.validator in ("additionalProperties", "unevaluatedProperties") and isinstance(err.instance, dict):
        allowed = set(err.schema.get("properties", {}))
        extra = [k for k in err.instance if k not in allowed]
        if extra:
            key = extra[0]
            hint = f"; allowed: {', '.join(sorted(allowed))}" if allowed else ""
            raise doc.error(where + (key,), f"unknown key '{key}'{hint}")
    raise doc.error(where, _short(err.message))


def _short(message: str, limit: int = 200) -> str:
    message = " ".join(message.split())
    return message if len(message) <= limit else message[: limit - 1] + "…"


def load_config(path: str | os.PathLike, schema: str) -> Document:
    """Load and schema-validate a user file in one step."""
    doc = load_document(path)
    validate(doc, schema)
    return doc
