"""The transcript: one JSON line per finished attempt, the source of truth of a run.

Each finished attempt is appended as one line with a single `os.write` on an O_APPEND descriptor:
no user-space buffer to flush, so the line is in the kernel (it survives a kill of the process)
before the next attempt starts, and no lock is held during the system call (appends of one line
are atomic, so workers never interleave). results.json is recomputed from the records (`Tally`),
and a killed run resumes from them without repeating or losing an attempt (`resume_state`).
Everything written is scrubbed of the target's and the judges' secrets first, whole values before
any cut and pieces of 8 or more characters after it (`gate.redact`, docs/formats.md).
"""
from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from .. import redact
from ..safe_files import open_append, open_fd
from ..errors import UsageError
from ..results import AttackCount
from ..suite import Attack


def read_transcript(path: str) -> list[dict[str, Any]]:
    """Records of a transcript; a truncated last line (a kill mid-write) is cut off the file."""
    return [rec for _, rec in read_transcript_lines(path)]


def read_transcript_lines(path: str) -> list[tuple[int, Any]]:
    """(line number, record) pairs of a transcript; a truncated last line is cut off the file."""
    if not os.path.exists(path):
        return []
    records = []
    good_end = 0
    with open(path, "rb") as fh:
        data = fh.read()
    pos = 0
    lineno = 0
    while pos < len(data):
        end = data.find(b"\n", pos)
        if end == -1:  # no newline: a partial last write
            break
        lineno += 1
        line = data[pos:end]
        pos = end + 1
        if not line.strip():
            good_end = pos
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            if pos >= len(data):  # damaged last line: drop it
                break
            raise UsageError(f"{path}:{lineno}: transcript line is not valid JSON; cannot resume safely") from None
        records.append((lineno, rec))
        good_end = pos
    if good_end < len(data):
        fd = open_fd(path, os.O_WRONLY)  # never through a link
        try:
            os.ftruncate(fd, good_end)
        finally:
            os.close(fd)
    return records


class TranscriptWriter:
    """Appends records to a transcript, one `os.write` of one whole line each (thread-safe by O_APPEND)."""

    def __init__(self, path: str):
        self._fd = open_append(path)  # O_NOFOLLOW: never through a link

    def append(self, rec: dict[str, Any]) -> None:
        # lone surrogates (from \ud800 escapes in a reply) stay JSON escapes: valid UTF-8, same text
        data = (json.dumps(rec, ensure_ascii=False) + "\n").encode("utf-8", "backslashreplace")
        while data:  # a regular file takes the whole line in one call; loop for the pathological case
            data = data[os.write(self._fd, data):]

    def close(self) -> None:
        os.close(self._fd)


def check_record(path: str, lineno: int, rec: Any, by_id: dict[str, Attack],
                 n_of: Callable[[Attack], int]) -> tuple[str, int]:
    """The (attack, attempt) key of a transcript record, or a located UsageError: a hand-edited or
    foreign line must not be counted (it could push an attack past its planned attempts)."""
    def bad(what: str) -> UsageError:
        return UsageError(f"{path}:{lineno}: {what}; cannot resume safely (use a new --out directory)")

    if not isinstance(rec, dict):
        raise bad("transcript line is not a JSON object")
    aid, j = rec.get("attack"), rec.get("attempt")
    if not isinstance(aid, str) or aid not in by_id:
        raise bad("attack: not an attack of this suite")
    if type(j) is not int or not 0 <= j < n_of(by_id[aid]):
        raise bad(f"attempt: {j!r} is not an attempt index of attack '{aid}' (0..{n_of(by_id[aid]) - 1})")
    if rec.get("success") not in (True, False, None) or not isinstance(rec.get("error") or "", str):
        raise bad("success/error: wrong type")
    if rec.get("success") is None and not rec.get("error"):
        raise bad("record has neither an outcome nor an error")
    return aid, j


@dataclass
class Tally:
    """What transcript records add up to: per-attack counts and run totals (results.json is built from it)."""

    counts: dict[str, AttackCount]
    calls: int = 0
    finished: int = 0
    errors: int = 0
    successes: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    error_kinds: Counter = field(default_factory=Counter)

    @classmethod
    def empty(cls, attacks: Iterable[Attack], n_of: Callable[[Attack], int]) -> Tally:
        return cls(counts={a.id: AttackCount(a.id, a.category, a.hash, n_of(a), prompt_hash=a.prompt_hash)
                           for a in attacks})

    def count(self, rec: dict[str, Any]) -> None:
        """Add one finished attempt: an error is counted apart (never judged), else attempts and successes."""
        c = self.counts[rec["attack"]]
        self.finished += 1
        tok = rec.get("tokens") or (0, 0)
        self.prompt_tokens += int(tok[0] or 0)
        self.completion_tokens += int(tok[1] or 0)
        if rec.get("error"):
            c.errors += 1
            self.errors += 1
            self.error_kinds[rec["error"]] += 1
        else:
            c.attempts += 1
            if rec.get("success"):
                c.successes += 1
                self.successes += 1


def resume_state(path: str, records: list[tuple[int, Any]], attacks: tuple[Attack, ...],
                 n_of: Callable[[Attack], int]) -> tuple[Tally, set[tuple[str, int]]]:
    """(tally, attempts done) after the records of an interrupted run.

    The latest record of an attempt wins, and an attempt whose latest record is an error is not
    done: a resumed run runs it again (an outage should not poison the run for good) and appends
    its new outcome. Every call of every record, errors included, stays counted.
    """
    by_id = {a.id: a for a in attacks}
    tally = Tally.empty(attacks, n_of)
    latest: dict[tuple[str, int], dict[str, Any]] = {}
    for lineno, rec in records:
        key = check_record(path, lineno, rec, by_id, n_of)
        latest[key] = rec
        tally.calls += int(rec.get("calls", 1) or 0)
    done: set[tuple[str, int]] = set()
    for key, rec in latest.items():
        if rec.get("error"):
            continue
        done.add(key)
        tally.count(rec)
    return tally, done


def scrub(text: str, secrets: list[str]) -> str:
    """`text` with every secret, and every piece of 8 or more characters of one, replaced by `***` (pass them
    longest first, as `secrets_of` returns them). To truncate, use `gate.redact.cut`: scrub, cut, scrub."""
    return redact.scrub(text, secrets)


def secrets_of(target: Any, attacks: Iterable[Attack]) -> list[str]:
    """The values to scrub from everything a run writes, longest first: the target's and every detector's
    (judges' API keys), the resolved values of the headers its file names, and what the process
    `gate.redact.remember`ed (the GitHub token); at least 4 characters long."""
    found = list(target.secrets()) + _header_values(target) + redact.known()
    for a in attacks:
        fn = getattr(a.detector, "secrets", None)
        if fn:
            found += list(fn())
        judge_target = getattr(a.detector, "target", None)
        if judge_target is not None:
            found += _header_values(judge_target)
    return redact.prepare(found)


def _header_values(target: Any) -> list[str]:
    """The values sent for the headers named in the target file's ``headers:`` (after ``${ENV}``)."""
    named = target.config.get("headers") if isinstance(getattr(target, "config", None), dict) else None
    sent = getattr(target, "headers", None)
    if not isinstance(named, dict) or not isinstance(sent, dict):
        return []
    return [str(sent[name]) for name in named if isinstance(sent.get(name), str)]
