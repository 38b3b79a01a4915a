"""The objects a run's target and detectors are made of: combined detectors (`child`, `children`) and the
targets inside them (an LLM judge's `target`). The runner sizes every connection pool it finds here; the
asyncio engine looks here for a detector that calls a model."""
from __future__ import annotations

from typing import Any, Iterable, Iterator


def parts(roots: Iterable[Any]) -> Iterator[Any]:
    """`roots` and everything inside them, each once."""
    seen: set[int] = set()
    stack = list(roots)
    while stack:
        obj = stack.pop()
        if obj is None or id(obj) in seen:
            continue
        seen.add(id(obj))
        yield obj
        stack.append(getattr(obj, "target", None))
        stack.append(getattr(obj, "child", None))
        stack.extend(getattr(obj, "children", None) or ())
