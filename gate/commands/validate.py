"""`asr-gate validate FILE...`: check suites, targets, policies and results files without running."""
from __future__ import annotations

import argparse
import sys

KINDS = ("auto", "suite", "target", "policy", "results", "baseline")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="check suite / target / policy / results files",
                       description="Validate files against asr-gate's JSON Schemas and semantic rules. The kind is "
                                   "guessed from the content (`suite:` key, `kind:` key, results `schema:`, else "
                                   "policy) unless --kind is given. Exit 2 on the first bad file.")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--kind", choices=KINDS, default="auto")
    p.set_defaults(func=run)


def _guess(data) -> str:
    if isinstance(data, dict):
        if str(data.get("schema", "")).startswith("asr-gate/results"):
            return "baseline" if "provenance" in data else "results"
        if "suite" in data:
            return "suite"
        if "kind" in data:
            return "target"
    return "policy"


def check(path: str, kind: str = "auto") -> str:
    """Validate one file; return a one-line description; raise GateError when it is bad."""
    from ..config import load_document

    if kind == "auto":
        kind = _guess(load_document(path).data)
    if kind == "suite":
        from ..suite import load_suite

        s = load_suite(path)
        s.close()
        _warn_backtracking(path, s)
        return f"suite '{s.id}': {len(s.attacks)} attacks in {len(s.categories) or 1} categories, {s.planned} attempts"
    if kind == "target":
        from ..targets import load_target

        t = load_target(path)
        t.close()
        prompt = t.system_prompt
        if prompt is None:
            return f"target of kind '{t.kind}'"
        from ..targets.system_prompt import MEANING

        return (f"target of kind '{t.kind}' with a system prompt of {len(prompt)} characters; "
                f"system_prompt_mode {t.system_prompt_mode}: {MEANING[t.system_prompt_mode]}")
    if kind in ("results", "baseline"):
        from ..results import load_results

        r = load_results(path)
        return f"{kind} for suite '{r['suite']['id']}': {len(r['attacks'])} attacks"
    from ..verdict import load_policy

    load_policy(path)
    return "policy"


def _warn_backtracking(path: str, suite) -> None:
    """A warning (stderr, exit code unchanged) for each regex with a nested quantifier, such as ``(a+)+``."""
    from ..detectors.regex import backtracking_patterns
    from ..report.escape import log_escape
    from ..settings import regex_timeout

    seen: set[str] = set()
    for a in suite.attacks:
        for pattern in backtracking_patterns(a.detector):
            if pattern in seen:
                continue
            seen.add(pattern)
            print(f"asr-gate: warning: {log_escape(path)}: attack '{log_escape(a.id, 80)}': the regex "
                  f"'{log_escape(pattern, 120)}' has a nested quantifier (like (a+)+), which can backtrack for a very "
                  f"long time on some replies; each search stops after {regex_timeout():g}s and that attempt "
                  f"counts as an error. Rewrite it without the nesting (e.g. a+ instead of (a+)+).", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from ..errors import GateError

    for path in args.files:
        try:
            what = check(path, args.kind)
        except GateError as exc:
            from ..report.escape import log_escape

            print(f"asr-gate: error: {log_escape(exc.one_line())}", file=sys.stderr)
            return exc.exit_code
        print(f"ok: {path}: {what}")
    return 0
