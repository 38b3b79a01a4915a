"""Targets: build the model endpoint under test from its YAML, plus the helpers the kinds share.

    target = load_target("target.yaml")          # file → validated Target (ConfigError → exit 2)
    target = build_target({"kind": "sim", ...})  # inline config (the LLM judge's target lives in the suite)
    reply = target.send(request)                 # thread-safe; raises TargetError, never retries
    target.describe()                            # for results.json: no secrets
    target.secrets()                             # values the runner must scrub from everything it writes
    target.close()

Every problem a user can cause is found here, before the first call: schema errors, an unknown
`kind`, an `api_key_env` or `${ENV}` naming an unset variable, a command that does not exist, a
body template without a placeholder. Each is a `ConfigError` located at the offending field.

The kind modules (openai, http, command, sim) are imported lazily through `KINDS`, so this module
imports none of them at load time and they may import the shared helpers below without a cycle.
"""
from __future__ import annotations

import codecs
import importlib
import json
import os
import re
from typing import Any, Iterator, Mapping, Sequence
from urllib.parse import urlsplit, urlunsplit

from ..config import Document, load_document, validate
from ..errors import ConfigError
from .interface import SECRET_KEYS, Message, Reply, Request, Target, TargetError

__all__ = [
    "KINDS", "load_target", "build_target", "target_class",
    "Target", "TargetError", "Request", "Reply", "Message",
]

#: default for `max_reply_bytes` (1 MiB)
DEFAULT_MAX_REPLY_BYTES = 1024 * 1024
#: error messages quote at most this many characters of anything the endpoint sent
EXCERPT_CHARS = 200
#: secrets shorter than this are not reported by `secrets()` (masking "1" everywhere helps nobody)
MIN_SECRET_CHARS = 4


# --------------------------------------------------------------------------------------------
# registry


class _Kinds(Mapping[str, type]):
    """kind name → Target subclass, importing the kind's module on first use."""

    _where = {
        "openai": ("openai", "OpenAITarget"),
        "http": ("http", "HttpTarget"),
        "command": ("command", "CommandTarget"),
        "sim": ("sim", "SimTarget"),
    }

    def __getitem__(self, kind: str) -> type:
        module, cls = self._where[kind]
        return getattr(importlib.import_module(f".{module}", __name__), cls)

    def __iter__(self) -> Iterator[str]:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)

    def __contains__(self, kind: object) -> bool:
        return kind in self._where


#: the registry of target kinds: KINDS["openai"] is the OpenAITarget class
KINDS: Mapping[str, type] = _Kinds()


def target_class(kind: str) -> type:
    """The Target subclass for a `kind:` value (KeyError when unknown)."""
    return KINDS[kind]


def _valid_kinds() -> str:
    return ", ".join(sorted(KINDS))


def load_target(path: Any) -> Target:
    """Load, validate and build the target described by a YAML/JSON file."""
    doc = load_document(path)
    return build_target(doc.data, source=doc.path, doc=doc)


def build_target(config: Any, source: str = "<inline>", doc: Document | None = None, *,
                 base: Sequence[Any] = ()) -> Target:
    """Validate a target config mapping and build its Target.

    `doc` and `base` locate errors when the config is part of a larger file (the LLM judge's
    `target:` inside a suite): `base` is the path of the config within `doc.data`. Without `doc`
    errors are reported against `source`.
    """
    if doc is None:
        doc = Document(str(source), config, {})
    where = tuple(base)
    if not isinstance(config, Mapping):
        raise doc.error(where, f"a target must be a mapping with a 'kind' key (one of: {_valid_kinds()})")
    kind = config.get("kind")
    if kind is None:
        raise doc.error(where, f"missing required key 'kind' (one of: {_valid_kinds()})")
    if not isinstance(kind, str) or kind not in KINDS:
        shown = one_line(repr(kind), 60)
        raise doc.error(where + ("kind",), f"unknown kind {shown}; valid kinds: {_valid_kinds()}")
    validate(doc, "target", base=where, data=config)
    return KINDS[kind](config, source=str(source), doc=doc, base=where)


# --------------------------------------------------------------------------------------------
# the base class of the built-in kinds


class BaseTarget(Target):
    """Shared plumbing: located config errors, secret bookkeeping, scrubbing of error messages."""

    def __init__(self, config: Mapping[str, Any], *, source: str = "<target>",
                 doc: Document | None = None, base: Sequence[Any] = ()):
        super().__init__(config, source=source)
        self._doc = doc if doc is not None else Document(source, dict(config), {})
        self._base = tuple(base)
        self._secrets: list[str] = []

    # -- configuration helpers

    def config_error(self, path: Sequence[Any], message: str) -> ConfigError:
        """A ConfigError located at `path` (relative to this target's config)."""
        return self._doc.error(self._base + tuple(path), message)

    def env(self, name: str, path: Sequence[Any]) -> str:
        """The value of environment variable `name`; unset or empty is a located ConfigError.

        Empty counts as unset: GitHub Actions expands a missing secret to an empty string.
        """
        value = os.environ.get(name)
        if not value:
            state = "is empty" if value == "" else "is not set"
            raise self.config_error(path, f"environment variable {name} {state}")
        return value

    def secret(self, value: str) -> str:
        """Remember `value` as a secret (scrubbed from messages, returned by secrets())."""
        if value and value not in self._secrets:
            self._secrets.append(value)
        return value

    def expand_env(self, template: str, path: Sequence[Any]) -> str:
        """Replace `${NAME}` by the environment variable NAME (a secret); `$${` is a literal `${`."""
        out: list[str] = []
        pos = 0
        for m in _ENV_REF.finditer(template):
            out.append(template[pos:m.start()])
            pos = m.end()
            if m.group(0) == "$${":
                out.append("${")
            elif m.group(1) is None:
                raise self.config_error(path, "malformed ${...} reference (expected ${NAME} with letters, "
                                              "digits and _; write $${ for a literal ${)")
            else:
                out.append(self.secret(self.env(m.group(1), path)))
        out.append(template[pos:])
        return "".join(out)

    def headers_from_config(self, key: str = "headers") -> dict[str, str]:
        """The `headers:` mapping with `${ENV}` expanded; values must be single-line."""
        headers: dict[str, str] = {}
        for name, value in (self.config.get(key) or {}).items():
            resolved = self.expand_env(str(value), (key, name))
            if "\n" in resolved or "\r" in resolved or "\0" in resolved or resolved[:1].isspace():
                raise self.config_error((key, name), "header value contains a line break, NUL or leading "
                                                     "whitespace (after ${ENV} substitution)")
            headers[str(name)] = resolved
        return headers

    @property
    def max_reply_bytes(self) -> int:
        return int(self.config.get("max_reply_bytes", DEFAULT_MAX_REPLY_BYTES))

    # -- secrets

    def secrets(self) -> list[str]:
        return [s for s in self._secrets if len(s) >= MIN_SECRET_CHARS]

    def scrub(self, text: str) -> str:
        for s in sorted(self._secrets, key=len, reverse=True):
            if s:
                text = text.replace(s, "***")
        return text

    def fail(self, message: str, *, kind: str, retryable: bool, retry_after: float | None = None,
             status: int | None = None) -> TargetError:
        """A TargetError whose message is one line, scrubbed of secrets and bounded."""
        return TargetError(one_line(self.scrub(message), 2 * EXCERPT_CHARS + 200), kind=kind,
                           retryable=retryable, retry_after=retry_after, status=status)

    def describe(self) -> dict[str, Any]:
        out = {k: v for k, v in self.config.items() if k not in SECRET_KEYS}
        for key in ("url", "base_url"):
            if isinstance(out.get(key), str):
                out[key] = redact_url(out[key])
        return out


_ENV_REF = re.compile(r"\$\$\{|\$\{(?:([A-Za-z_][A-Za-z0-9_]*)\}|)")


# --------------------------------------------------------------------------------------------
# text helpers


def one_line(text: Any, limit: int = EXCERPT_CHARS) -> str:
    """Collapse whitespace (no newlines survive) and cut to `limit` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def redact_url(url: str) -> str:
    """Drop a password from `scheme://user:password@host/...`."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    netloc = f"{parts.username}:***@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def decode_text(data: bytes, truncated: bool, charset: str | None = None) -> str:
    """Decode a reply; a cut-off multi-byte character at the end of a truncated reply is dropped."""
    encoding = "utf-8"
    if charset:
        try:
            encoding = codecs.lookup(charset).name
        except LookupError:
            pass
    if truncated:
        text = codecs.getincrementaldecoder(encoding)("replace").decode(data, final=False)
    else:
        text = data.decode(encoding, "replace")
    return text[1:] if text.startswith("\ufeff") else text


def truncate_text(text: str, max_bytes: int) -> tuple[str, bool]:
    """Cut `text` to at most `max_bytes` of UTF-8 (on a character boundary)."""
    if len(text) * 4 <= max_bytes:
        return text, False
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= max_bytes:
        return text, False
    return data[:max_bytes].decode("utf-8", "ignore"), True


# --------------------------------------------------------------------------------------------
# reply paths: `choices.0.message.content`, `choices[0].message.content`, `$.output.text`

_PATH_TOKEN = re.compile(r"\.?([^.\[\]]+)|\[(-?\d+)\]")
_INT = re.compile(r"-?\d+")


class PathMissing(LookupError):
    """The path does not lead anywhere in the data; `.at` is the prefix that still existed."""

    def __init__(self, path: str, at: str):
        super().__init__(f"{path!r} not found (no {at!r})")
        self.at = at


class ReplyPath:
    """A parsed dotted path with list indices; `get(data)` follows it."""

    def __init__(self, text: str):
        self.text = text
        s = text.strip()
        if s.startswith("$"):
            s = s[1:]
        parts: list[str | int] = []
        pos = 0
        while pos < len(s):
            m = _PATH_TOKEN.match(s, pos)
            if not m or m.end() == pos:
                raise ValueError(f"cannot parse path {text!r} at character {pos + 1}")
            if m.group(1) is not None:
                seg = m.group(1)
                parts.append(int(seg) if _INT.fullmatch(seg) else seg)
            else:
                parts.append(int(m.group(2)))
            pos = m.end()
        if not parts:
            raise ValueError(f"empty path {text!r}")
        self.parts = tuple(parts)

    def get(self, data: Any) -> Any:
        cur = data
        for i, part in enumerate(self.parts):
            if isinstance(cur, list) and isinstance(part, int) and -len(cur) <= part < len(cur):
                cur = cur[part]
            elif isinstance(cur, dict) and str(part) in cur:
                cur = cur[str(part)]
            else:
                raise PathMissing(self.text, _format_parts(self.parts[: i + 1]))
        return cur

    def __repr__(self) -> str:
        return f"ReplyPath({self.text!r})"


def _format_parts(parts: Sequence[str | int]) -> str:
    return ".".join(str(p) for p in parts)


def reply_text_from(value: Any) -> str:
    """The reply text for a value found at a reply path (null → empty, structures → JSON)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def token_count(value: Any) -> int:
    """A usage number, or 0 when absent or not a non-negative number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0
    if value != value or value < 0 or value == float("inf"):
        return 0
    return int(value)


# --------------------------------------------------------------------------------------------
# parsing the front of a JSON document cut off by max_reply_bytes


class _Nothing:
    pass


_NOTHING = _Nothing()
_DECODER = json.JSONDecoder(strict=False)
_WS = " \t\n\r"


def parse_partial_json(text: str) -> Any:
    """Parse a JSON document that was cut off: unfinished containers are closed, an unfinished
    string is kept as far as it goes, an unfinished number or literal is dropped.

    Used only for replies longer than max_reply_bytes, so that the beginning of a huge reply text
    (`choices[0].message.content`) can still be judged. Iterative (no recursion limit), lenient
    about separators; raises ValueError when the text does not start like JSON at all.
    """
    stack: list[Any] = []
    keys: list[Any] = []  # per open dict: the pending key (None when a key is expected)
    root: Any = _NOTHING
    i, n = 0, len(text)

    def attach(value: Any) -> None:
        nonlocal root
        if not stack:
            if root is not _NOTHING:
                raise ValueError("extra data after the JSON value")
            root = value
            return
        top = stack[-1]
        if isinstance(top, list):
            top.append(value)
        elif keys[-1] is None:
            raise ValueError("expected an object key")
        else:
            top[keys[-1]] = value
            keys[-1] = None

    while True:
        while i < n and text[i] in _WS:
            i += 1
        if i >= n:
            break
        c = text[i]
        if c in "{[":
            new: Any = {} if c == "{" else []
            attach(new)
            stack.append(new)
            keys.append(None)
            i += 1
        elif c in "}]":
            if not stack:
                raise ValueError("unbalanced brackets")
            stack.pop()
            keys.pop()
            i += 1
            if not stack:
                break
        elif c in ",:":
            i += 1
        elif c == '"':
            try:
                value, i = json.decoder.scanstring(text, i + 1, False)
                complete = True
            except ValueError:
                value, complete = _partial_string(text[i + 1:]), False
            if stack and isinstance(stack[-1], dict) and keys[-1] is None:
                if not complete:
                    break
                keys[-1] = value
                continue
            attach(value)
            if not complete:
                break
        else:
            try:
                value, end = _DECODER.raw_decode(text, i)
            except ValueError:
                if not stack and root is _NOTHING:
                    raise
                break  # a literal or number cut in the middle
            if end >= n:
                break  # a number running to the cut may be incomplete
            attach(value)
            i = end
    if root is _NOTHING:
        raise ValueError("no JSON value")
    return root


def _partial_string(rest: str) -> str:
    """Decode the escapes of an unterminated JSON string body, dropping a cut-off escape."""
    for trim in range(0, 7):
        candidate = rest[: len(rest) - trim] if trim else rest
        try:
            return json.loads('"' + candidate + '"', strict=False)
        except ValueError:
            continue
    raise ValueError("unterminated string with invalid escapes")
