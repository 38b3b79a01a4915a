"""Reply paths (`choices.0.message.content`, `choices[0].message.content`, `$.output.text`): where a
reply's text and token counts sit in an endpoint's JSON, for the http, openai and command kinds."""
from __future__ import annotations

import json
import re
from typing import Any, Sequence


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
