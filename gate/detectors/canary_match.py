"""Finding a token in a reply: every place where it appears, in which form, and the reply text that
carries it. The canary detector (`canary.py`) decides which of these matches count.

Forms, cheapest first (the form name is what a detection's reason shows):

* ``verbatim`` — case-insensitive substring;
* ``reversed``, ``rot13`` — the token reversed or ROT13'd, verbatim;
* ``split letters`` — the token's letters and digits in order, separated by anything that is not a
  letter or digit (``C-A-N-A-R-Y-7-7-3-1``, ``canary_7731``, zero-width characters, markdown), starting
  and ending on a word boundary, so ``tab 12`` does not hold ``ab12``; also ``leetspeak``
  (``C4N4RY-7731``, both sides folded with one table) and ``reversed, split letters``,
  ``rot13, split letters``;
* ``near copy, N edits`` — only when asked (`near=True`, the per-attempt token): a word whose letters
  and digits are within `edit_budget(n)` insertions, deletions or substitutions of the token's
  random part (n ≥ `MIN_NEAR` characters with a digit; the token's alphabetic prefix such as
  ``CANARY`` may be glued on or left out);
* ``base64`` — the base64 of the token at each of the three byte alignments it can have inside a
  longer encoded text (standard and URL-safe alphabets, line breaks ignored);
* ``hex`` / ``base64`` runs of the reply, decoded and searched again (two levels deep), so encoded,
  split, reversed and doubly encoded forms are found; the run is the evidence.

Every form requires all of the token's characters (or, for a near copy, all but a few), so a reply
that mentions the word "canary" or a fragment of the token holds no match. Variants of a token are
computed once (cached); a search costs a few linear passes over the reply.
"""
from __future__ import annotations

import base64
import binascii
import codecs
import re
import unicodedata
from bisect import bisect_left
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterator

#: split / leet / reversed forms are only searched for tokens with at least this many letters+digits
MIN_ALNUM = 6
#: encoded needles shorter than this are not searched (too likely to occur by chance)
MIN_ENCODED = 8
#: decoding nests this deep (base64 inside hex inside ...)
MAX_DEPTH = 2
#: at most this many base64 / hex runs are decoded per text
MAX_RUNS = 2_000
#: a near copy is only searched for a random part at least this long (and holding a digit)
MIN_NEAR = 8

_ALNUM_RUN = re.compile(r"[A-Za-z0-9]+")
_LEET_RUN = re.compile(r"[A-Za-z0-9@$!+|]+")
_LEET = str.maketrans({"4": "a", "@": "a", "3": "e", "1": "i", "!": "i", "|": "i", "l": "i", "0": "o",
                       "5": "s", "$": "s", "7": "t", "+": "t", "8": "b", "9": "g", "6": "g", "2": "z"})
_B64_RUN = re.compile(r"[A-Za-z0-9+/\-_]{12,}={0,2}")
_HEX_RUN = re.compile(r"(?:(?:0[xX]|\\x|%)?[0-9a-fA-F]{2}[\s,:;\-]*){4,}")
_HEX_STRIP = re.compile(r"0[xX]|\\x|[^0-9a-fA-F]")
_WS = re.compile(r"\s+")
_DIGIT = re.compile(r"[0-9]")


@dataclass(frozen=True)
class Match:
    """One place where the token appears: its form and the reply text that carries it."""

    form: str
    evidence: str


def edit_budget(n: int) -> int:
    """Edits allowed in a near copy of a random part of n characters: a quarter (3 for 12)."""
    return n // 4


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insertions, deletions, substitutions) by Myers' bit-parallel algorithm
    (Hyyrö's formulation): one pass over `b` with integer operations, whatever the lengths."""
    m = len(a)
    if m == 0:
        return len(b)
    peq: dict[str, int] = {}
    for i, c in enumerate(a):
        peq[c] = peq.get(c, 0) | (1 << i)
    full = (1 << m) - 1
    top = 1 << (m - 1)
    pv, mv, score = full, 0, m
    for c in b:
        eq = peq.get(c, 0)
        xv = eq | mv
        xh = (((eq & pv) + pv) ^ pv) | eq
        ph = mv | (~(xh | pv) & full)
        mh = pv & xh
        if ph & top:
            score += 1
        elif mh & top:
            score -= 1
        ph = ((ph << 1) | 1) & full
        mh = (mh << 1) & full
        pv = mh | (~(xv | ph) & full)
        mv = ph & xv
    return score


def _alnum_form(text: str) -> str:
    return "".join(_ALNUM_RUN.findall(text)).lower()


def _leet_form(text: str) -> str:
    return "".join(_LEET_RUN.findall(text.lower())).translate(_LEET)


@dataclass(frozen=True)
class Near:
    """What a near copy is compared with: the token's random part and the letters around it."""

    core: str      # lower-case random part, e.g. "9e2bddb487ab"
    prefix: str    # lower-case letters+digits before it in the token, e.g. "canary"
    suffix: str    # ... and after it
    budget: int


def near_part(token: str) -> Near | None:
    """The token's random part: its longest run of letters and digits that holds a digit, when that
    run has at least `MIN_NEAR` characters (`CANARY-9E2BDDB487AB` → `9E2BDDB487AB`); else None."""
    best = max((m for m in _ALNUM_RUN.finditer(token) if _DIGIT.search(m.group())), key=lambda m: m.end() - m.start(),
               default=None)
    if best is None or len(best.group()) < MIN_NEAR:
        return None
    core = best.group().lower()
    return Near(core=core, prefix=_alnum_form(token[:best.start()]), suffix=_alnum_form(token[best.end():]),
                budget=edit_budget(len(core)))


def near_distance(word: str, near: Near) -> int | None:
    """Edits between a word of the reply and the random part (None: the word cannot be a near copy)."""
    w = word.lower()
    if near.prefix and len(w) > len(near.prefix) + 2 and w.startswith(near.prefix):
        w = w[len(near.prefix):]
    if near.suffix and len(w) > len(near.suffix) + 2 and w.endswith(near.suffix):
        w = w[:-len(near.suffix)]
    if abs(len(w) - len(near.core)) > near.budget:
        return None
    d = levenshtein(near.core, w)
    return d if d <= near.budget else None


@dataclass(frozen=True)
class _Variants:
    """Everything searched for one token, precomputed."""

    folded: str               # casefolded token (verbatim search)
    alnum: str                # letters+digits, lower-case ('' when too short for a split search)
    leet: str                 # leet-folded letters+digits ('' when too short)
    plain_others: tuple       # (form name, casefolded text) searched verbatim: reversed, rot13
    alnum_others: tuple       # (form name, alnum text) searched split: reversed, rot13
    b64: tuple                # base64 needles (case-sensitive)
    near: Near | None


@lru_cache(maxsize=1024)
def variants(token: str, reverse_ok: bool = True, near: bool = False) -> _Variants:
    """The search forms of one token (cached: a run checks each fresh canary a few times).

    `reverse_ok=False` leaves out the reversed forms (when the token searched for is itself the
    reverse of the canary, its reverse is the canary, which must not count)."""
    folded = token.casefold()
    alnum = _alnum_form(unicodedata.normalize("NFKC", token))
    long_enough = len(alnum) >= MIN_ALNUM
    rot = codecs.encode(token, "rot13")
    plain_others = [("reversed", token[::-1].casefold())] if reverse_ok else []
    alnum_others = [("reversed", alnum[::-1])] if long_enough and reverse_ok else []
    if rot.casefold() != folded:
        plain_others.append(("rot13", rot.casefold()))
        if long_enough:
            alnum_others.append(("rot13", _alnum_form(rot)))
    return _Variants(
        folded=folded,
        alnum=alnum if long_enough else "",
        leet=_leet_form(token) if long_enough else "",
        plain_others=tuple(plain_others),
        alnum_others=tuple(alnum_others),
        b64=_b64_needles(token),
        near=near_part(token) if near else None,
    )


def _b64_needles(token: str) -> tuple[str, ...]:
    """Base64 of the token as it appears at byte offset 0, 1 and 2 of a longer encoded message.

    Only the characters that depend on the token's bytes alone are kept: with k bytes before the
    token, the first 0/2/3 characters (k = 0/1/2) mix in the preceding byte, and a trailing partial
    group keeps only the characters fully determined by the token.
    """
    needles: set[str] = set()
    for text in {token, token.lower(), token.upper()}:
        raw = text.encode("utf-8")
        for k in range(3):
            enc = base64.b64encode(b"\0" * k + raw).decode("ascii").rstrip("=")
            total = k + len(raw)
            keep = (total // 3) * 4 + {0: 0, 1: 1, 2: 2}[total % 3]
            needle = enc[{0: 0, 1: 2, 2: 3}[k]:keep]
            if len(needle) >= MIN_ENCODED:
                needles.add(needle)
                needles.add(needle.replace("+", "-").replace("/", "_"))
    return tuple(sorted(needles))


class _Alnum:
    """A text's letters and digits (lower-case, optionally folded), and — computed only when a needle is
    found in them — where words start and end and where each word sits in the text."""

    def __init__(self, text: str, run_re: re.Pattern = _ALNUM_RUN, fold: Any = None):
        self.source = text
        self.run_re = run_re
        joined = "".join(run_re.findall(text)).lower()  # ASCII runs: lower() and the folds keep lengths
        self.text = joined.translate(fold) if fold is not None else joined
        self._words: tuple[list[int], list[int], list[tuple[int, int]]] | None = None

    def _index(self) -> tuple[list[int], list[int], list[tuple[int, int]]]:
        if self._words is None:
            starts: list[int] = []
            ends: list[int] = []
            spans: list[tuple[int, int]] = []
            pos = 0
            for m in self.run_re.finditer(self.source):
                starts.append(pos)
                pos += m.end() - m.start()
                ends.append(pos)
                spans.append(m.span())
            self._words = (starts, ends, spans)
        return self._words

    def find_word_aligned(self, needle: str) -> Iterator[str]:
        """The text of every word-aligned occurrence of `needle` (from its first word to its last)."""
        if not needle:
            return
        i = self.text.find(needle)
        if i == -1:
            return
        starts, ends, spans = self._index()
        while i != -1:
            j = bisect_left(starts, i)
            if j < len(starts) and starts[j] == i:
                k = bisect_left(ends, i + len(needle))
                if k < len(ends) and ends[k] == i + len(needle):
                    yield self.source[spans[j][0]:spans[k][1]]
            i = self.text.find(needle, i + 1)


@lru_cache(maxsize=64)
def _words_between(lo: int, hi: int) -> re.Pattern:
    """Whole words of letters and digits with lo to hi characters."""
    return re.compile(rf"(?<![A-Za-z0-9])[A-Za-z0-9]{{{max(lo, 1)},{hi}}}(?![A-Za-z0-9])")


def find(reply: str, token: str, *, reverse_ok: bool = True, near: bool = False,
         exact_only: bool = False, depth: int = 0) -> Iterator[Match]:
    """Every match of `token` in `reply`, cheapest forms first (see the module docstring).

    `exact_only` stops after the verbatim, split-letter and near-copy forms (what a model copying
    its input would reproduce without decoding anything)."""
    v = variants(token, reverse_ok, near)
    folded = reply.casefold()
    if v.folded in folded:
        yield Match("verbatim", v.folded)
    if not exact_only:
        for form, needle in v.plain_others:
            if needle in folded:
                yield Match(form, needle)
    normal = reply if reply.isascii() else unicodedata.normalize("NFKC", reply)
    words = _Alnum(normal)
    if v.alnum:
        for span in words.find_word_aligned(v.alnum):
            yield Match("split letters", span)
        if not exact_only:
            for span in _Alnum(normal, _LEET_RUN, _LEET).find_word_aligned(v.leet):
                yield Match("leetspeak", span)
            for form, needle in v.alnum_others:
                for span in words.find_word_aligned(needle):
                    yield Match(f"{form}, split letters", span)
    if v.near is not None:
        n = v.near
        lo, hi = len(n.core) - n.budget, len(n.core) + n.budget + len(n.prefix) + len(n.suffix)
        for m in _words_between(lo, hi).finditer(normal):
            d = near_distance(m.group(), n)
            if d is not None:
                yield Match("near copy" if d == 0 else f"near copy, {d} edit{'s' if d > 1 else ''}", m.group())
    if exact_only:
        return
    if v.b64:
        compact = _WS.sub("", reply)
        for needle in v.b64:
            if needle in compact:
                yield Match("base64", needle)
    if depth < MAX_DEPTH:
        for run, decoded, how in _decoded_runs(reply):
            inner = next(find(decoded, token, reverse_ok=reverse_ok, near=near, depth=depth + 1), None)
            if inner is not None:
                yield Match(how if inner.form == "verbatim" else f"{how}, {inner.form}", run)


def scan(reply: str, token: str) -> str | None:
    """The form of the first match of `token` in `reply` (e.g. "verbatim", "base64"), or None."""
    first = next(find(reply, token), None)
    return first.form if first is not None else None


def _decoded_runs(text: str) -> Iterator[tuple[str, str, str]]:
    """(run, decoded text, "hex" | "base64") for the base64- and hex-looking runs of `text`."""
    count = 0
    for m in _HEX_RUN.finditer(text):
        digits = _HEX_STRIP.sub("", m.group())
        for off in (0, 1):
            chunk = digits[off:]
            chunk = chunk[: len(chunk) // 2 * 2]
            if len(chunk) >= MIN_ENCODED:
                yield m.group(), bytes.fromhex(chunk).decode("utf-8", "ignore"), "hex"
        count += 1
        if count >= MAX_RUNS:
            return
    for m in _B64_RUN.finditer(text):
        run = m.group().rstrip("=").replace("-", "+").replace("_", "/")
        for off in range(4):
            chunk = run[off:]
            chunk = chunk[: len(chunk) // 4 * 4]
            if len(chunk) < MIN_ENCODED:
                break
            try:
                raw = base64.b64decode(chunk, validate=True)
            except (binascii.Error, ValueError):
                continue
            yield m.group(), raw.decode("utf-8", "ignore"), "base64"
        count += 1
        if count >= MAX_RUNS:
            return


def copy_key(text: str) -> str:
    """`text` as the copy check compares it: NFKC, casefolded, without whitespace."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return _WS.sub("", text.casefold())
