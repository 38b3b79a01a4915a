"""Talking to the Actions runner: workflow commands, step outputs, the job summary, secret masking.

Everything asr-gate prints in a workflow goes through one `Workflow` object, which

* masks secrets first (``::add-mask::``; the caller masks the GitHub token and the target's secrets
  before anything else is printed), and remembers them for `gate.redact` (the runner scrubs them);
* writes workflow commands with the runner's own escaping (`command_escape`) and at most
  `ANNOTATIONS_PER_LEVEL` annotations per level (the rest are counted and summarised in one plain line);
* appends outputs to ``GITHUB_OUTPUT`` in the heredoc form ``name<<DELIMITER`` with a random delimiter
  (so no value, whatever it contains, can end the block early or set another output);
* appends Markdown to ``GITHUB_STEP_SUMMARY`` without ever letting the file exceed 1 MiB (GitHub drops a
  larger summary entirely: we truncate deliberately, with a note);
* never prints untrusted text raw: plain lines go through `log_escape`.

Outside Actions (``GITHUB_ACTIONS`` is not ``true``) the same calls print plain ``asr-gate: warning: ...``
lines on stderr and write no files, so the CLI stays readable in a terminal (docs/architecture.md).
"""
from __future__ import annotations

import os
import re
import sys
import uuid
from typing import Any, Iterable, Mapping, TextIO

from .. import redact, settings
from ..safe_files import append_text
from ..report.escape import command_escape, log_escape

#: GitHub's limit for one step's summary file; larger summaries are not shown at all
SUMMARY_LIMIT = 1024 * 1024
#: workflow-command annotations printed per level (error, warning, notice); GitHub shows 10 per step
ANNOTATIONS_PER_LEVEL = 10
LEVELS = ("error", "warning", "notice")
#: the action's outputs (action.yml); every run writes all of them, empty when unknown
OUTPUT_NAMES = ("verdict", "asr", "baseline-asr", "delta", "p-value", "results-path", "report-path")


def _fmt_props(props: Mapping[str, Any]) -> str:
    items = [f"{k}={command_escape(v, property=True)}" for k, v in props.items() if v not in (None, "")]
    return (" " + ",".join(items)) if items else ""


class Workflow:
    """Workflow commands and the ``GITHUB_OUTPUT`` / ``GITHUB_STEP_SUMMARY`` files (see the module doc)."""

    def __init__(self, env: Mapping[str, str] | None = None, stdout: TextIO | None = None,
                 stderr: TextIO | None = None):
        self.env = os.environ if env is None else env
        self.actions = settings.in_actions(self.env)
        self._stdout = stdout
        self._stderr = stderr
        self.masked: list[str] = []
        self.counts: dict[str, int] = {lvl: 0 for lvl in LEVELS}
        self.dropped: dict[str, int] = {lvl: 0 for lvl in LEVELS}

    @property
    def out(self) -> TextIO:
        return self._stdout or sys.stdout

    @property
    def err(self) -> TextIO:
        return self._stderr or sys.stderr

    # -- secrets

    #: values masked by any Workflow of this process (the runner's mask list is per job, so once is enough)
    _masked_in_process: set[str] = set()

    def mask(self, value: str | None) -> None:
        """``::add-mask::`` for a secret (and each of its lines); ignores empty and very short values."""
        if not value or len(value.strip()) < 4 or value in self.masked:
            return
        self.masked.append(value)
        redact.remember(value)  # and scrubbed from what the run writes (the GitHub token)
        if value in Workflow._masked_in_process:
            return
        Workflow._masked_in_process.add(value)
        if not self.actions:
            return
        parts = [value] + [p for p in value.splitlines() if len(p.strip()) >= 4 and p != value]
        for part in parts:
            data = part.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
            self.out.write(f"::add-mask::{data}\n")
        self.out.flush()

    def mask_all(self, values: Iterable[str]) -> None:
        for v in values:
            self.mask(v)

    # -- messages

    def plain(self, text: str, *, stream: TextIO | None = None) -> None:
        """A plain log line; untrusted parts must already be escaped, but we escape again to be sure."""
        (stream or self.out).write(log_escape(text) + "\n")
        (stream or self.out).flush()

    def annotate(self, level: str, message: str, *, title: str | None = None, file: str | None = None,
                 line: int | None = None, end_line: int | None = None) -> bool:
        """An ``::error`` / ``::warning`` / ``::notice`` command (at most 10 per level); False if dropped.

        Every annotation has a title (default ``asr-gate``), so ours are recognisable in the log."""
        if level not in LEVELS:
            raise ValueError(level)
        if self.counts[level] >= ANNOTATIONS_PER_LEVEL:
            self.dropped[level] += 1
            return False
        self.counts[level] += 1
        title = title or "asr-gate"
        if not self.actions:  # a terminal: one plain line, the title is for GitHub's UI
            where = f"{file}:{line}: " if file and line else ""
            text = message[len("asr-gate: "):] if message.startswith("asr-gate: ") else message
            self.err.write(f"asr-gate: {level}: {log_escape(where + text)}\n")
            self.err.flush()
            return True
        props = _fmt_props({"file": file, "line": line, "endLine": end_line, "title": title})
        self.out.write(f"::{level}{props}::{command_escape(message)}\n")
        self.out.flush()
        return True

    def error(self, message: str, **kw: Any) -> bool:
        return self.annotate("error", message, **kw)

    def warning(self, message: str, **kw: Any) -> bool:
        return self.annotate("warning", message, **kw)

    def notice(self, message: str, **kw: Any) -> bool:
        return self.annotate("notice", message, **kw)

    def flush_dropped(self) -> None:
        dropped = {k: v for k, v in self.dropped.items() if v}
        if dropped:
            what = ", ".join(f"{v} {k}{'s' if v != 1 else ''}" for k, v in dropped.items())
            self.plain(f"asr-gate: {what} not shown as annotations (at most {ANNOTATIONS_PER_LEVEL} per level); "
                       f"see the job summary")
            self.dropped = {lvl: 0 for lvl in LEVELS}

    def group(self, title: str) -> None:
        if self.actions:
            self.out.write(f"::group::{command_escape(title)}\n")
            self.out.flush()

    def endgroup(self) -> None:
        if self.actions:
            self.out.write("::endgroup::\n")
            self.out.flush()

    # -- files

    def set_outputs(self, values: Mapping[str, Any]) -> None:
        """Append outputs to ``GITHUB_OUTPUT`` (heredoc form, random delimiter). None → empty string."""
        clean = {name: "" if v is None else str(v) for name, v in values.items()}
        path = settings.github_output_file(self.env)
        if not path:
            return
        chunks = []
        for name, value in clean.items():
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", name):
                raise ValueError(f"bad output name {name!r}")
            delimiter = f"ghadelimiter_{uuid.uuid4()}"
            while delimiter in value:  # pragma: no cover - a UUID collision
                delimiter = f"ghadelimiter_{uuid.uuid4()}"
            chunks.append(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
        append_text(path, "".join(chunks))  # O_NOFOLLOW

    def append_summary(self, markdown: str) -> bool:
        """Append to ``GITHUB_STEP_SUMMARY``; the file never exceeds 1 MiB. False when there is no file."""
        path = settings.github_step_summary_file(self.env)
        if not path:
            return False
        from ..publish.github import truncate

        try:
            used = os.path.getsize(path)
        except OSError:
            used = 0
        room = SUMMARY_LIMIT - used - 1
        if room < 200:
            return False
        text = markdown if markdown.endswith("\n") else markdown + "\n"
        text = truncate(text, room, note="\n\n_… truncated by asr-gate to stay within GitHub's 1 MiB job-summary "
                                          "limit ({omitted:,} characters omitted); see the report artifact._\n")
        append_text(path, text)  # O_NOFOLLOW
        return True
