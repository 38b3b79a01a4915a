"""Removing secrets from text before it is written anywhere: whole values first, then what a cut left.

A secret is an API key read from the environment, a header value named in a target file, or the GitHub
token. The rule (issue 14, "scrub first, cut later"):

1. `scrub` replaces every whole secret with ``***`` (longest first, so no secret leaves a part of a longer
   one behind), before any truncation, excerpt or log line;
2. text that was cut somewhere (by us after scrubbing, or by code that quoted an excerpt of an endpoint's
   body before we saw it) may still end or start with a *piece* of a secret: `scrub` also replaces every
   run of text made of 8-character windows of a secret (any piece of 8 or more characters) with ``***``.
   Shorter secrets (4 to 7 characters) are only replaced whole.

`cut(text, limit, secrets)` is the safe truncation: whole values out of the full text, then the cut, with the
piece search looking past the cut, so that a piece of 8+ characters that the cut would shorten to fewer (one
the sender had already cut, since whole values are gone by then) is still recognised and its kept part
redacted. The targets cut their excerpts of what an endpoint sent the same way (`gate.targets.text.excerpt`).

`remember` keeps the secrets this process learned outside a target (the GitHub token, masked by
`gate.action.workflow.Workflow.mask`), so the runner scrubs them too (`known`).
"""
from __future__ import annotations

import functools
import threading
from typing import Iterable

#: the shortest piece of a secret that is redacted wherever it appears
MIN_PIECE = 8
#: secrets shorter than this are neither scrubbed nor remembered (masking "1" everywhere helps nobody)
MIN_SECRET = 4
REDACTED = "***"

_known: set[str] = set()
_lock = threading.Lock()


def remember(*values: str | None) -> None:
    """Add values (the GitHub token, …) to the process-wide list the runner scrubs."""
    with _lock:
        _known.update(v for v in values if v and len(v) >= MIN_SECRET)


def known() -> list[str]:
    """The values `remember`ed so far, longest first."""
    with _lock:
        return sorted(_known, key=len, reverse=True)


def prepare(secrets: Iterable[str | None]) -> list[str]:
    """Distinct secrets of at least `MIN_SECRET` characters, longest first (the order `scrub` needs)."""
    return sorted({s for s in secrets if s and len(s) >= MIN_SECRET}, key=len, reverse=True)


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` without any secret: every whole value, then every piece of 8 or more characters, as ``***``.

    ``secrets`` should come from `prepare` (longest first)."""
    if not text:
        return text
    secrets = [s for s in secrets if s]
    text = replace_whole(text, secrets)
    for s in secrets:
        if len(s) >= MIN_PIECE:
            text = _scrub_pieces(text, s)
    return text


def cut(text: str, limit: int, secrets: Iterable[str]) -> str:
    """The first ``limit`` characters of ``text``: whole secrets removed before the cut, pieces at and after it.

    The (possibly very long) text is only searched for whole values; the piece search runs on what is kept
    plus ``MIN_PIECE - 1`` characters beyond the cut, so a piece that starts before the cut is seen at its
    full length (up to 8 characters) and its part before the cut is redacted however short. The result is at
    most ``limit`` characters, plus ``len(REDACTED) - 1`` when a redaction ends at the cut."""
    secrets = [s for s in secrets if s]
    text = replace_whole(text, secrets)
    if len(text) <= limit:
        return scrub(text, secrets)
    window = text[:limit + MIN_PIECE - 1]
    spans = [span for s in secrets if len(s) >= MIN_PIECE for span in _covered(window, s)]
    return _redact_spans(text[:limit], [(a, min(b, limit)) for a, b in spans if a < limit])


def replace_whole(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every whole value of ``secrets`` (longest first) replaced by ``***``; no piece search."""
    for s in secrets:
        if s in text:
            text = text.replace(s, REDACTED)
    return text


#: a piece of 8+ characters always contains one of the secret's 5-character windows that start at a multiple of 4
_PROBE, _STRIDE = 5, 4


@functools.lru_cache(maxsize=256)
def _windows(secret: str) -> tuple[tuple[str, ...], frozenset[str]]:
    """(probes, every 8-character window) of ``secret``. A piece at offsets [o, o + L), L ≥ 8, contains the
    probe at the first multiple j of 4 at or after o: j ≤ o + 3, so j + 5 ≤ o + 8 ≤ o + L."""
    probes = tuple(dict.fromkeys(secret[j:j + _PROBE] for j in range(0, len(secret) - _PROBE + 1, _STRIDE)))
    grams = frozenset(secret[i:i + MIN_PIECE] for i in range(len(secret) - MIN_PIECE + 1))
    return probes, grams


def _scrub_pieces(text: str, secret: str) -> str:
    """Replace every stretch of ``text`` covered by 8-character windows of ``secret`` with ``***``."""
    return _redact_spans(text, _covered(text, secret))


def _covered(text: str, secret: str) -> list[tuple[int, int]]:
    """The stretches of ``text`` covered by 8-character windows of ``secret``, in order, merged."""
    probes, grams = _windows(secret)
    if not any(p in text for p in probes):  # the usual case, in C: no piece at all
        return []
    covered: list[tuple[int, int]] = []
    for i in range(len(text) - MIN_PIECE + 1):
        if text[i:i + MIN_PIECE] in grams:
            if covered and i <= covered[-1][1]:
                covered[-1] = (covered[-1][0], i + MIN_PIECE)
            else:
                covered.append((i, i + MIN_PIECE))
    return covered


def _redact_spans(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` with each of the (possibly overlapping) ``spans`` replaced by one ``***``."""
    if not spans:
        return text
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    out, pos = [], 0
    for start, end in merged:
        out.append(text[pos:start])
        out.append(REDACTED)
        pos = end
    out.append(text[pos:])
    return "".join(out)
