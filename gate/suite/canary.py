"""The per-attempt canary and the placeholders that put it, or a form derived from it, into an attack.

    {{canary}}           the token itself                      CANARY-9E2BDDB487AB
    {{canary.half1}}     the token without its last 6 chars   CANARY-9E2BDD
    {{canary.half2}}     the last 6 chars                     B487AB
    {{canary.reversed}}  the token written backwards          BA784BDDB2E9-YRANAC
    {{canary.base64}}    base64 of the token                  Q0FOQVJZLTlFMkJEREI0ODdBQg==
    {{canary.hex}}       hex of the token's bytes             43414e415259...

Why the derived forms exist: an attack that writes the token verbatim into a user turn ("reply with
{{canary}}") cannot tell a model that obeyed from one that merely repeated its input. When the
attack gives the token only in pieces or encoded and asks the model to rebuild it ("join
{{canary.half1}} and {{canary.half2}}", "decode {{canary.base64}}"), the token in the reply is
something copying the input cannot produce. The canary detector never counts text copied from the
input (`gate/detectors/canary.py`), and the suite builder rejects an attack whose user or
assistant turns already hold the token the detector looks for.
"""
from __future__ import annotations

import base64
import re
import secrets
from typing import Callable

CANARY_PLACEHOLDER = "{{canary}}"
#: what every canary placeholder starts with (the plain one and the derived ones)
CANARY_PREFIX = "{{canary"
#: length of `{{canary.half2}}` for tokens made by `new_canary`
HALF_TAIL = 6


def new_canary() -> str:
    """A fresh random token per attempt: a model cannot have memorised it, so seeing it is a leak."""
    return "CANARY-" + secrets.token_hex(6).upper()


def _cut(token: str) -> int:
    """Where `half1` ends: before the last 6 characters (half of `new_canary`'s random part), so
    neither half is within the detector's edit distance of the whole random part."""
    return max(1, len(token) - HALF_TAIL) if len(token) > 2 * HALF_TAIL else len(token) // 2


#: derived form name → function of the token; `{{canary.<name>}}` renders to it
FORMS: dict[str, Callable[[str], str]] = {
    "half1": lambda t: t[:_cut(t)],
    "half2": lambda t: t[_cut(t):],
    "reversed": lambda t: t[::-1],
    "base64": lambda t: base64.b64encode(t.encode("utf-8")).decode("ascii"),
    "hex": lambda t: t.encode("utf-8").hex(),
}

#: a canary placeholder as written in a suite, spaces allowed: `{{canary}}`, `{{ canary.half1 }}`
WRITTEN = re.compile(r"\{\{\s*canary(?:\.([A-Za-z0-9_]+))?\s*\}\}")
#: the normalised form the builder stores in an attack's messages
_STORED = re.compile(r"\{\{canary(?:\.([a-z0-9]+))?\}\}")


def placeholder(form: str | None = None) -> str:
    """The stored placeholder of a form (None: the token itself)."""
    return CANARY_PLACEHOLDER if form is None else "{{canary." + form + "}}"


def derive(token: str, form: str | None) -> str:
    return token if form is None else FORMS[form](token)


def has_placeholder(text: str) -> bool:
    return CANARY_PREFIX in text and _STORED.search(text) is not None


def render(text: str, token: str) -> str:
    """`text` with every stored canary placeholder replaced by the token or its derived form."""
    if CANARY_PREFIX not in text:
        return text
    return _STORED.sub(lambda m: derive(token, m.group(1)), text)


def known_forms() -> str:
    return ", ".join("canary." + f for f in FORMS)


def normalise(text: str) -> str:
    """`text` with every written canary placeholder in its stored form (`{{ canary.Half1 }}` →
    `{{canary.half1}}`); raises ValueError naming an unknown form."""
    def repl(m: re.Match) -> str:
        form = m.group(1)
        if form is None:
            return CANARY_PLACEHOLDER
        if form.lower() not in FORMS:
            raise ValueError(f"unknown placeholder '{{{{canary.{form}}}}}' (canary forms: canary, {known_forms()})")
        return placeholder(form.lower())

    return WRITTEN.sub(repl, text)


def visible_input(messages) -> str:
    """The turns a user could have written or seen: every message after the leading system turns.

    The leading system turns are the application's hidden context (a secret, a configuration id),
    so the token appearing from there is a leak; text in the other turns is the input the canary
    detector must not count when a reply merely copies it.
    """
    lead = 0
    while lead < len(messages) and messages[lead].role == "system":
        lead += 1
    return "\n\n".join(m.content for m in messages[lead:])
