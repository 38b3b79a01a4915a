"""The `asr-gate` command line: a thin layer that wires subcommands to the library (docs/architecture.md).

Each subcommand lives in `gate/commands/<name>.py` and exposes `register(subparsers)`, which adds
its parser and sets `func=run`, where `run(args) -> int` parses what argparse cannot, calls the library
(the gate's flow is `gate.pipeline`) and returns the exit code. Command modules import only argparse at
module level, so `asr-gate --help` stays fast; heavy libraries (scipy, PyGithub) are imported inside `run`.

Every `GateError` becomes one line on stderr and its exit code (2 bad input, 3 could not
measure); nothing a user can cause prints a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Sequence

from . import __version__, settings
from .errors import EXIT_MEASURE, EXIT_USAGE, GateError

#: subcommand modules under gate/commands, in the order `--help` lists them
COMMANDS = ("init", "run", "compare", "gate", "publish", "baseline", "plan", "validate", "merge", "detectors", "demo")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="asr-gate",
        description="Measure the Attack Success Rate (ASR) of an LLM application and gate a pull request "
        "on a statistically sound comparison with the committed baseline.",
        epilog="Exit codes: 0 pass/warn, 1 fail, 2 bad input or usage, 3 could not measure.",
    )
    parser.add_argument("--version", action="version", version=f"asr-gate {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f".commands.{name}", __package__).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # numpy's OpenBLAS starts a thread per core at import, and they spin: ~0.25 s of CPU per command
    # for arrays of a few hundred numbers, taken from the run's workers on a 2-core runner. (Command
    # targets see only the variables their `env:` lists, so a local model is not affected.)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.func(args))
    except GateError as exc:
        from .report.escape import log_escape

        # messages may quote untrusted text (ids, file content): never let it form a workflow command
        print(f"asr-gate: error: {log_escape(exc.one_line())}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("asr-gate: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `asr-gate ... | head`: the reader left; nothing more to say
        _silence_stdout()
        return 0
    except OSError as exc:  # a path the user gave cannot be read or written
        from .report.escape import log_escape

        where = exc.filename if exc.filename is not None else ""
        print(f"asr-gate: error: {log_escape(where)}{': ' if where else ''}{log_escape(exc.strerror or exc)}",
              file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # a bug: one line (and the traceback only when asked for), never exit 1
        if settings.debug():
            raise
        from .report.escape import log_escape

        print(f"asr-gate: internal error: {type(exc).__name__}: {log_escape(exc)} "
              f"(set ASR_GATE_DEBUG=1 for the traceback, and please report it)", file=sys.stderr)
        return EXIT_MEASURE


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot raise again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
