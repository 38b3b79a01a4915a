"""Exceptions that map to the CLI's exit codes (see README.md, section "Exit codes").

Every error a user can cause is a `UsageError` (exit 2) whose message is a single line naming
the file, the line and the field; every failure to measure is a `MeasureError` (exit 3). The CLI
catches these and prints the message only, never a traceback.
"""
from __future__ import annotations

EXIT_PASS = 0
EXIT_FAIL = 1
EXIT_USAGE = 2
EXIT_MEASURE = 3


class GateError(Exception):
    """Base class: an error with an exit code and a one-line message."""

    exit_code = EXIT_USAGE

    def one_line(self) -> str:
        """The message flattened to one line (untrusted parts may contain newlines)."""
        return " ".join(str(self).split("\n"))


class UsageError(GateError):
    """Bad input or usage: exit 2."""

    exit_code = EXIT_USAGE


class ConfigError(UsageError):
    """A problem in a user file, located as `file:line: field: what is wrong`."""

    def __init__(self, path: str, message: str, line: int | None = None, field: str | None = None):
        self.path = str(path)
        self.line = line
        self.field = field
        self.message = message
        loc = self.path if line is None else f"{self.path}:{line}"
        text = f"{loc}: {field}: {message}" if field else f"{loc}: {message}"
        super().__init__(text)


class MeasureError(GateError):
    """Could not measure (target unreachable, error budget exceeded, ...): exit 3."""

    exit_code = EXIT_MEASURE
