"""`asr-gate init`: write the workflow, target, policy, suites and baselines/README.md into a repository."""
from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("init", help="set up a repository: workflow, target, policy, suites, baselines/README.md",
                       description="Write the files a repository needs to gate its pull requests on the attack "
                                   "success rate. Non-interactive; never overwrites a file with other content "
                                   "unless --force; a second run changes nothing.")
    p.add_argument("--suite", action="append", metavar="NAME",
                   help="a built-in suite to gate on (repeatable; default: prompt-injection and "
                        "system-prompt-extraction)")
    p.add_argument("--runner-mode", action="store_true",
                   help="use the runner-mode action (the model runs on the runner at 127.0.0.1, or a command "
                        "target needs your environment) instead of the Docker action")
    p.add_argument("--action", metavar="OWNER/REPO@REF", help="the action reference to write (default: the release "
                   "of this asr-gate; pin it to a full commit SHA)")
    p.add_argument("--key-env", default="OPENAI_API_KEY", metavar="NAME",
                   help="environment variable / secret holding the model API key (default: OPENAI_API_KEY)")
    p.add_argument("--dir", default=".", help="the repository to write into (default: the current directory)")
    p.add_argument("--force", action="store_true", help="overwrite files that exist with other content")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..scaffold import DEFAULT_SUITES, NEXT_STEPS, plan, write

    files = plan(suites=args.suite or DEFAULT_SUITES, runner_mode=args.runner_mode, action=args.action,
                 key_env=args.key_env)
    results = write(args.dir, files, force=args.force)
    for w in results:
        note = " (exists with other content; --force to overwrite)" if w.status == "kept" else ""
        print(f"{w.status:>11}  {w.path}{note}")
    print(NEXT_STEPS.format(key_env=args.key_env))
    return 0
