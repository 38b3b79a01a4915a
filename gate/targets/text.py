"""Text helpers the target kinds share: one-line excerpts, URL redaction, decoding and cutting replies."""
from __future__ import annotations

import codecs
from typing import Any, Sequence
from urllib.parse import urlsplit, urlunsplit

from .. import redact

#: error messages quote at most this many characters of anything the endpoint sent
EXCERPT_CHARS = 200


def one_line(text: Any, limit: int = EXCERPT_CHARS) -> str:
    """Collapse whitespace (no newlines survive) and cut to `limit` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def excerpt(text: Any, limit: int = EXCERPT_CHARS, secrets: Sequence[str] = ()) -> str:
    """`one_line` for text an endpoint or a program sent, with ``secrets`` (longest first) removed *before*
    the cut: whole values out of the full text, then the cut (`gate.redact.cut`), which also redacts a piece
    of 8+ characters of a secret, including the part of one that the cut would shorten. So no prefix of a
    secret, however short, is left at the end of an excerpt."""
    if not secrets:
        return one_line(text, limit)
    flat = " ".join(redact.replace_whole(str(text), secrets).split())
    if len(flat) <= limit:
        return redact.scrub(flat, secrets)
    return redact.cut(flat, limit - 1, secrets) + "…"


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
