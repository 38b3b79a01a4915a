"""Parse the front of a JSON document cut off by `max_reply_bytes`, so a huge reply can still be judged."""
from __future__ import annotations

import json
from typing import Any


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
