"""Make untrusted text (attack ids, category names, file values) inert before it is shown.

Attack ids and category names come from suite files and imported datasets, i.e. from whoever wrote
the pull request. Rendered raw they could ping people (``@org/team``), add links or tracking
images (``![x](http://e)``), inject HTML (``<img src=x>``), close the ``<details>`` block the
report sits in, break a table (``|``, newlines), spoof verdict marks (``:white_check_mark:``),
hide text with bidi/zero-width characters, or — in a CI log — issue GitHub workflow commands
(``::add-mask::``, ``::error::``, ``::stop-commands::``).

* `md_escape` for Markdown (PR comments, job summaries, check-run text): one line, every ASCII
  punctuation character that can form markup as a numeric HTML entity (the text renders the same
  but is never markup), except a ``:`` before a space or at the end and a ``_`` inside a word (so
  prose such as "Note: ..." and names such as ``prompt_injection`` stay readable in the raw
  Markdown); a zero-width space after ``@`` and ``#`` so mentions and issue references do not
  resolve, and after a ``:`` that could open an emoji shortcode; control and invisible format
  characters shown as ``⟨U+XXXX⟩``, length capped.
* `log_escape` for terminals and CI logs: one line (``\\n``, ``\\r`` and other control characters
  shown as escapes, so ANSI sequences cannot rewrite the screen either), every ``::`` written as
  ``:%3A`` and ``##[`` defused, invisible characters shown as ``\\uXXXX``.
* `command_escape` for data inside a workflow command we emit (the runner's %-encoding).
* `mermaid_label` for Mermaid chart labels: a conservative whitelist.
* `xml_text` strips what XML 1.0 cannot carry (JUnit).
* `safe_name` reduces an id to a conservative character set for check-run names and annotation titles.
"""
from __future__ import annotations

import re
import unicodedata

__all__ = ["md_escape", "md_code", "log_escape", "command_escape", "mermaid_label", "xml_text", "safe_name"]

#: default cap on an escaped Markdown field (characters of the *input*)
MD_MAX_LEN = 120

_ZWSP = "&#8203;"  # after @ and #: breaks mentions, team mentions, issue/PR references, emails

# Unicode categories that are invisible or control: Cc control, Cf format (zero-width, bidi
# embeddings/overrides/isolates, BOM, soft hyphen ...), Zl/Zp line/paragraph separators,
# Co private use, Cs surrogates, Cn unassigned.
_HIDDEN_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn"}
# Variation selectors and a few "blank" letters that render as nothing.
_ALSO_HIDDEN = set(range(0xFE00, 0xFE10)) | set(range(0xE0100, 0xE01F0)) | {0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800}


def _hidden(ch: str) -> bool:
    return unicodedata.category(ch) in _HIDDEN_CATEGORIES or ord(ch) in _ALSO_HIDDEN


def _truncate(text: str, max_len: int | None) -> str:
    if max_len is not None and max_len > 0 and len(text) > max_len:
        return text[: max_len - 1] + "…"
    return text


#: ASCII punctuation that has no inline meaning once [ ] < > ` : @ # & \\ | etc. are encoded
_MD_PLAIN = set(" .,;?'\"/=%()+-")
#: characters of a GitHub emoji shortcode name (``:white_check_mark:``, ``:+1:``, ``:100:``)
_SHORTCODE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+-")
_WWW_RE = re.compile(r"(?i)(www)\.")
_LIST_RE = re.compile(r"^(\d{1,9})([.)])")


def md_escape(text: object, max_len: int | None = MD_MAX_LEN) -> str:
    """Escape untrusted text for inline use in GitHub-flavoured Markdown (also inside table cells).

    The result is a single line that renders as the literal text (shortened to ``max_len``
    characters with "…"), with no mention, issue reference, link, autolink, image, emoji
    shortcode, math, HTML tag, entity, emphasis, code span, table pipe or line break of its own,
    and whitespace runs collapsed. ASCII punctuation other than `` .,;?'"/=%()+-`` (which cannot
    form markup once the rest is encoded; a leading ``+``/``-`` is encoded) becomes a numeric HTML
    entity; ``@``/``#`` also get a
    zero-width space; ``www.`` is broken; a leading ``1.``/``1)`` cannot start a list. Invisible or
    control characters (zero-width, bidi overrides, ...) become a visible ``⟨U+202E⟩``. Do not wrap
    the result in a backtick code span (entities are not decoded there): use `md_code`.

    An underscore between two letters or digits (``prompt_injection``) is left as it is: CommonMark
    never opens or closes emphasis there. A ``:`` followed by whitespace or ending the text is left
    as it is: GitHub gives it no meaning there (an autolink needs ``scheme:`` directly followed by
    the rest of the address, an emoji shortcode ``:name:`` a name directly after the colon; links and
    reference definitions need brackets, which are encoded). Any other ``:`` is encoded (``http&#58;//``,
    ``javascript&#58;``), and when a shortcode name character follows it, a zero-width space is
    added too (``&#58;&#8203;x:``): GitHub turns shortcodes into emoji in the rendered text, after
    entities are decoded, so the entity alone would not stop ``:x:`` — the same reason ``@`` gets
    one.
    """
    s = str(text)
    s = " ".join(s.split())  # whitespace incl. newlines, tabs, NBSP, U+2028 → one space
    s = _truncate(s, max_len)
    out: list[str] = []
    for i, ch in enumerate(s):
        o = ord(ch)
        if o < 128:
            if ch.isalnum() or ch in _MD_PLAIN:
                out.append(ch)
            elif ch == "_" and s[i - 1:i].isalnum() and s[i + 1:i + 2].isalnum():
                out.append("_")  # intraword (prompt_injection): CommonMark never reads it as emphasis
            elif ch == ":":
                after = s[i + 1:i + 2]
                if not after or after.isspace():
                    out.append(":")  # "Note: ..." — no markup can start here
                elif after in _SHORTCODE_CHARS:
                    out.append(f"&#58;{_ZWSP}")  # not an emoji shortcode even after entities are decoded
                else:
                    out.append("&#58;")  # http:// or mailto: is no autolink
            elif ch in "@#":
                out.append(f"&#{o};{_ZWSP}")
            elif 32 <= o < 127:
                out.append(f"&#{o};")
            else:
                out.append(f"⟨U+{o:04X}⟩")
        elif _hidden(ch):
            out.append(f"⟨U+{o:04X}⟩")
        elif ch in "＠﹫":  # full-width / small commercial at
            out.append(f"{ch}{_ZWSP}")
        else:
            out.append(ch)
    r = "".join(out)
    if r[:1] in ("-", "+"):  # a list marker only at the start
        r = f"&#{ord(r[0])};" + r[1:]
    r = _WWW_RE.sub(r"\1&#46;", r)
    return _LIST_RE.sub(lambda m: m.group(1) + f"&#{ord(m.group(2))};", r)


def md_code(text: object, max_len: int | None = MD_MAX_LEN) -> str:
    """Untrusted text as inline code: `md_escape`'s safety with a monospace look (``<code>``).

    Uses an HTML ``<code>`` element (GitHub allows it) so the content can stay entity-escaped; a
    Markdown backtick span would show the entities literally."""
    return f"<code>{md_escape(text, max_len)}</code>"


def _visible_controls(s: str) -> str:
    out: list[str] = []
    for ch in s:
        o = ord(ch)
        if ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif o < 32 or o == 127 or 0x80 <= o < 0xA0:
            out.append(f"\\x{o:02x}")
        elif o >= 0xA0 and _hidden(ch):
            out.append(f"\\u{o:04x}" if o <= 0xFFFF else f"\\U{o:08x}")
        else:
            out.append(ch)
    return "".join(out)


def log_escape(text: object, max_len: int | None = None) -> str:
    """Make untrusted text safe to print on one line of a terminal or a GitHub Actions log.

    * newlines, carriage returns, tabs and other control characters (the ESC of ANSI sequences,
      NUL, C1 controls) are shown as ``\\n``, ``\\r``, ``\\t``, ``\\xNN``, so the text can never
      start a line of its own, and thus never a workflow command;
    * every ``::`` becomes ``:%3A`` and ``##[`` becomes ``#%23[``, so ``::error::``,
      ``::add-mask::``, ``::stop-commands::`` and the legacy ``##[command]`` forms are inert even if
      a caller prints the text at the start of a line;
    * invisible or bidi characters are shown as ``\\uXXXX``.

    ``%`` is left alone (so "4.0%" stays readable): the line cannot be a command. For data placed
    *inside* a workflow command that we emit ourselves, use `command_escape`.
    """
    s = _visible_controls(_truncate(str(text), max_len))
    while "::" in s:
        s = s.replace("::", ":%3A")
    return s.replace("##[", "#%23[")


def command_escape(text: object, property: bool = False) -> str:
    """Escape data for use inside a GitHub workflow command (``::error title=P::DATA``).

    The runner's own rules (actions/toolkit ``escapeData`` / ``escapeProperty``): ``%`` → ``%25``,
    ``\\r`` → ``%0D``, ``\\n`` → ``%0A``; for a property also ``:`` → ``%3A`` and ``,`` → ``%2C``.
    Other control and invisible characters are made visible as in `log_escape`."""
    s = str(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property:
        s = s.replace(":", "%3A").replace(",", "%2C")
    return _visible_controls(s)


_MERMAID_OK = re.compile(r"[^A-Za-z0-9 _\-.+/]")


def mermaid_label(text: object, max_len: int = 24) -> str:
    """A label safe inside double quotes in a Mermaid diagram (and inside a ```mermaid fence).

    Keeps ASCII letters, digits, space and ``_-.+/``; everything else (quotes, brackets, ``%%``
    directives, backticks, ``#`` entity codes, ``:``, ``;``, non-ASCII) becomes ``_``. Never empty."""
    s = " ".join(str(text).split())
    s = _MERMAID_OK.sub("_", s)
    if len(s) > max_len:
        s = s[: max_len - 1] + "_"
    return s or "_"


_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text: object, max_len: int | None = None) -> str:
    """Text that XML 1.0 can carry: forbidden control characters and lone surrogates become U+FFFD.
    (Markup characters are escaped by the XML writer.)"""
    return _XML_BAD.sub("\ufffd", _truncate(str(text), max_len))


_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._:/-]")


def safe_name(text: object, max_len: int = 80) -> str:
    """An id reduced to ``[A-Za-z0-9._:/-]`` (others → ``_``): safe in check names, annotations, titles."""
    s = _UNSAFE_NAME.sub("_", str(text))
    return (s[: max_len - 1] + "_") if len(s) > max_len else (s or "_")
