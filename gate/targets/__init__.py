"""Targets: build the model endpoint under test from its YAML (the registry of kinds, load and build).

    target = load_target("target.yaml")          # file → validated Target (ConfigError → exit 2)
    target = build_target({"kind": "sim", ...})  # inline config (the LLM judge's target lives in the suite)
    reply = target.send(request)                 # thread-safe; raises TargetError, never retries
    target.describe()                            # for results.json: no secrets
    target.secrets()                             # values the runner must scrub from everything it writes
    target.close()

Every problem a user can cause is found here, before the first call: schema errors, an unknown
`kind`, an `api_key_env` or `${ENV}` naming an unset variable, a command that does not exist, a
body template without a placeholder. Each is a `ConfigError` located at the offending field.

The kind modules (openai, http, command, sim) are imported lazily through `KINDS` (a
`gate.registry.LazyRegistry`); the interface and the base class are in `interface.py`, the helpers
the kinds share in `text.py`, `reply_path.py` and `partial_json.py`.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from ..config import Document, load_document, validate
from ..registry import LazyRegistry
from .interface import Message, Reply, Request, Target, TargetError
from .text import one_line

__all__ = [
    "KINDS", "load_target", "build_target", "target_class",
    "Target", "TargetError", "Request", "Reply", "Message",
]

#: the registry of target kinds: KINDS.get("openai") is the OpenAITarget class
KINDS = LazyRegistry(__name__, {
    "openai": ".openai:OpenAITarget",
    "http": ".http:HttpTarget",
    "command": ".command:CommandTarget",
    "sim": ".sim:SimTarget",
})


def target_class(kind: str) -> type:
    """The Target subclass for a `kind:` value (KeyError when unknown)."""
    return KINDS.get(kind)


def _valid_kinds() -> str:
    return ", ".join(KINDS.names())


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
    return KINDS.get(kind)(config, source=str(source), doc=doc, base=where)
