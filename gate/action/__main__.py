"""The Docker action's entrypoint (``python -m gate.action``): dispatch on the ``mode`` input.

``gate`` and ``publish`` are the commands of the same names with ``GITHUB_ACTIONS=true``, so their unset
options come from the inputs (`gate.action.inputs`). ``baseline`` runs the suite on the accepted model and
opens or updates the baseline pull request (``asr-gate baseline update --open-pr``); its inputs (baseline
path, branch names) are checked before the suite runs. Exit codes as `asr-gate`: every error is one
``::error::`` line, never a traceback (2 bad input, 3 could not measure or an internal error).
"""
from __future__ import annotations

import os
import sys
from typing import MutableMapping

from ..errors import EXIT_MEASURE, EXIT_USAGE, GateError, UsageError
from .event import read_event
from .inputs import (BASELINE_INPUTS, GATE_INPUTS, apply_inputs, read_mode, require_options, token_env_name,
                     token_value)
from .workflow import Workflow


def _baseline_mode(env: MutableMapping[str, str], wf: Workflow) -> int:
    """Run the suite on the accepted model and open/update the baseline pull request."""
    import argparse

    from ..commands.gate import parse
    from ..commands.run import options_from
    from ..pipeline import run_only, update_baseline

    from ..pipeline import check_baseline_pr_options

    args = parse(["--no-comment", "--no-check-run"])
    apply_inputs(args, GATE_INPUTS, env)
    require_options(args, ("suite", "target"), actions=True)
    ev = read_event(env)
    pr = argparse.Namespace(base=None, branch=None, allow_detector_change=None, allow_subset=None)
    apply_inputs(pr, BASELINE_INPUTS, env)
    base = pr.base or ev.default_branch or ev.ref_name
    if not base:
        raise UsageError("cannot tell the base branch for the baseline pull request; set the `base` input")
    # before any model call: what will be committed, and where
    workspace = ev.workspace or os.getcwd()
    baseline = check_baseline_pr_options(baseline=args.baseline, branch=pr.branch, base=base, workspace=workspace)
    results_path = run_only(args, wf, options_from(args))
    code = update_baseline(results_path, baseline=baseline, baseline_dir="baselines",
                           allow_detector_change=bool(pr.allow_detector_change), allow_subset=bool(pr.allow_subset),
                           open_pr=True, branch=pr.branch, base=base, repo=ev.repository, api_url=ev.api_url,
                           token_env=token_env_name(env), workspace=workspace)
    wf.set_outputs({"verdict": "", "results-path": ev.display_path(results_path),
                    "asr": "", "baseline-asr": "", "delta": "", "p-value": "", "report-path": ""})
    return code


def main(argv: list[str] | None = None, env: MutableMapping[str, str] | None = None) -> int:
    """Dispatch on the ``mode`` input. Exit codes as `asr-gate`."""
    env = os.environ if env is None else env
    wf = Workflow(env)
    # the token first: nothing may be printed before it is masked
    wf.mask(token_value(token_env_name(env), env))
    try:
        mode = read_mode(env)
        if mode == "baseline":
            return _baseline_mode(env, wf)
        from ..cli import main as cli_main

        # `gate` and `publish` read their INPUT_* themselves (GITHUB_ACTIONS=true in the runner)
        env.setdefault("GITHUB_ACTIONS", "true")
        return cli_main([mode] + list(argv or []))
    except GateError as exc:
        wf.error(f"asr-gate: {exc.one_line()}")
        return exc.exit_code
    except KeyboardInterrupt:
        wf.error("asr-gate: interrupted")
        return 130
    except OSError as exc:  # a path from an input cannot be read or written
        where = f"{exc.filename}: " if exc.filename is not None else ""
        wf.error(f"asr-gate: {where}{exc.strerror or exc}")
        return EXIT_USAGE
    except Exception as exc:  # a bug: one line, exit 3 (the traceback with ASR_GATE_DEBUG=1)
        from .. import settings

        if settings.debug(env):
            raise
        wf.error(f"asr-gate: internal error: {type(exc).__name__}: {exc} (set ASR_GATE_DEBUG=1 for the traceback, "
                 f"and please report it)")
        return EXIT_MEASURE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
