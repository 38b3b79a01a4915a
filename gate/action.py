"""GitHub Actions adapter: ``INPUT_*`` → options, the event payload, ``GITHUB_OUTPUT``, the job summary and
workflow commands. This is the Docker action's entrypoint (``python -m gate.action``).

The runner hands a Docker container action its inputs as environment variables ``INPUT_<NAME>``: the
name upper-cased, spaces replaced by ``_``, hyphens *kept* (``INPUT_FAIL-ON-INCONCLUSIVE``). Some
wrappers (and people testing by hand) use the underscore form (``INPUT_FAIL_ON_INCONCLUSIVE``); both are
accepted, the hyphen form first. ``required: true`` in action.yml is *not* enforced by the runner, so
`require_input` checks it here and a missing input is one ``::error::`` line and exit 2.

Everything this module prints goes through one `Workflow` object, which

* masks secrets first (``::add-mask::``; the caller masks the GitHub token and the target's secrets
  before anything else is printed);
* writes workflow commands with the runner's own escaping (`command_escape`) and at most
  `ANNOTATIONS_PER_LEVEL` annotations per level (the rest are counted and summarised in one plain line);
* appends outputs to ``GITHUB_OUTPUT`` in the heredoc form ``name<<DELIMITER`` with a random delimiter
  (so no value, whatever it contains, can end the block early or set another output);
* appends Markdown to ``GITHUB_STEP_SUMMARY`` without ever letting the file exceed 1 MiB (GitHub drops a
  larger summary entirely: we truncate deliberately, with a note);
* never prints untrusted text raw: plain lines go through `log_escape`.

Outside Actions (``GITHUB_ACTIONS`` is not ``true``) the same calls print plain ``asr-gate: warning: ...``
lines on stderr and write no files, so the CLI stays readable in a terminal.

`main` dispatches on the ``mode`` input: ``gate`` (default: ``asr-gate gate``), ``publish``
(``asr-gate publish``, for the ``workflow_run`` pattern) and ``baseline`` (run the suite, then open or
update the baseline pull request with ``asr-gate baseline update --open-pr``).
"""
from __future__ import annotations

import json
import os
import re
import sys
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, MutableMapping, TextIO

from .errors import ConfigError, GateError, UsageError
from .report.escape import command_escape, log_escape

#: GitHub's limit for one step's summary file; larger summaries are not shown at all
SUMMARY_LIMIT = 1024 * 1024
#: workflow-command annotations printed per level (error, warning, notice); GitHub shows 10 per step
ANNOTATIONS_PER_LEVEL = 10
LEVELS = ("error", "warning", "notice")
#: the action's outputs (action.yml); every run writes all of them, empty when unknown
OUTPUT_NAMES = ("verdict", "asr", "baseline-asr", "delta", "p-value", "results-path", "report-path")
MODES = ("gate", "publish", "baseline")
_TRUE = ("true", "True", "TRUE")
_FALSE = ("false", "False", "FALSE")
_SHA_RE = re.compile(r"^[0-9a-f]{40}$|^[0-9a-f]{64}$")
_REPO_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")


# --------------------------------------------------------------------------------------------------
# inputs


def input_env_names(name: str) -> tuple[str, ...]:
    """``fail-on-inconclusive`` → (``INPUT_FAIL-ON-INCONCLUSIVE``, ``INPUT_FAIL_ON_INCONCLUSIVE``)."""
    up = name.strip().upper().replace(" ", "_")
    alt = up.replace("-", "_")
    return (f"INPUT_{up}",) if alt == up else (f"INPUT_{up}", f"INPUT_{alt}")


def get_input(name: str, env: Mapping[str, str] | None = None) -> str | None:
    """The input's value with surrounding whitespace removed, or None when unset or empty."""
    env = os.environ if env is None else env
    for key in input_env_names(name):
        value = env.get(key)
        if value is not None and value.strip():
            return value.strip()
    return None


def input_source(name: str, env: Mapping[str, str] | None = None) -> str | None:
    """The environment variable that holds the input (for passing a token by *name*), or None."""
    env = os.environ if env is None else env
    for key in input_env_names(name):
        if (env.get(key) or "").strip():
            return key
    return None


def require_input(name: str, env: Mapping[str, str] | None = None) -> str:
    value = get_input(name, env)
    if value is None:
        raise UsageError(f"input '{name}' is required (set `with: {name}: ...` in the workflow step)")
    return value


def parse_bool(name: str, value: str) -> bool:
    """YAML 1.2 core booleans, as @actions/core getBooleanInput; anything else is a usage error."""
    v = value.strip()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise UsageError(f"input '{name}' must be true or false, got '{log_escape(v, 40)}'")


def get_bool(name: str, env: Mapping[str, str] | None = None, default: bool | None = None) -> bool | None:
    value = get_input(name, env)
    return default if value is None else parse_bool(name, value)


def in_actions(env: Mapping[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    return env.get("GITHUB_ACTIONS") == "true"


def parse_fraction(name: str, text: str, *, low: float = 0.0, high: float = 1.0) -> float:
    """``0.05`` or ``5%`` → 0.05; out of [low, high] is a usage error naming the option."""
    t = str(text).strip()
    try:
        v = float(t[:-1]) / 100 if t.endswith("%") else float(t)
    except ValueError:
        raise UsageError(f"{name}: expected a number such as 0.05 or 5%, got '{log_escape(t, 40)}'") from None
    if not (low <= v <= high) or v != v:
        raise UsageError(f"{name}: {t} is out of range [{low:g}, {high:g}]")
    return v


# --------------------------------------------------------------------------------------------------
# the event


@dataclass
class Event:
    """What the gate needs from ``GITHUB_EVENT_PATH`` and the ``GITHUB_*`` variables.

    ``head_sha`` is the commit a check run belongs to: the pull request's head for pull-request events
    (``GITHUB_SHA`` is then a merge commit GitHub made), the run's head for ``workflow_run``, else
    ``GITHUB_SHA``. ``is_fork``: the pull request's head repository is not the base repository (or was
    deleted); such runs get a read-only token and no secrets on ``pull_request``.
    """

    name: str = ""
    payload: Mapping[str, Any] = field(default_factory=dict)
    repository: str | None = None
    sha: str | None = None
    head_sha: str | None = None
    pr_number: int | None = None
    base_repo: str | None = None
    head_repo: str | None = None
    is_fork: bool = False
    default_branch: str | None = None
    ref_name: str | None = None
    api_url: str = "https://api.github.com"
    server_url: str = "https://github.com"
    run_id: str | None = None
    run_attempt: str | None = None
    workspace: str | None = None

    @property
    def run_url(self) -> str | None:
        if self.repository and self.run_id and _REPO_RE.match(self.repository) and self.run_id.isdigit():
            server = self.server_url.rstrip("/")
            if re.match(r"^https?://[A-Za-z0-9.:\-\[\]]+(/[A-Za-z0-9._~/-]*)?$", server):
                return f"{server}/{self.repository}/actions/runs/{self.run_id}"
        return None

    def commit_url(self, sha: str | None) -> str | None:
        if sha and _SHA_RE.match(sha) and self.repository and _REPO_RE.match(self.repository):
            return f"{self.server_url.rstrip('/')}/{self.repository}/commit/{sha}"
        return None


def _full_name(repo: Any) -> str | None:
    if isinstance(repo, Mapping):
        name = repo.get("full_name")
        return name if isinstance(name, str) else None
    return None


def _sha(value: Any) -> str | None:
    return value if isinstance(value, str) and _SHA_RE.match(value) else None


#: webhook payloads are at most 25 MB (GitHub caps deliveries there)
MAX_EVENT_BYTES = 25 * 1024 * 1024


def read_event(env: Mapping[str, str] | None = None) -> Event:
    """Parse the ``GITHUB_*`` variables and the event payload (unset GITHUB_EVENT_PATH → no PR;
    a payload that is missing or broken is a ConfigError, exit 2)."""
    env = os.environ if env is None else env
    ev = Event(
        name=env.get("GITHUB_EVENT_NAME", ""), repository=env.get("GITHUB_REPOSITORY") or None,
        sha=_sha(env.get("GITHUB_SHA")), api_url=(env.get("GITHUB_API_URL") or "https://api.github.com").rstrip("/"),
        server_url=(env.get("GITHUB_SERVER_URL") or "https://github.com").rstrip("/"),
        run_id=env.get("GITHUB_RUN_ID") or None, run_attempt=env.get("GITHUB_RUN_ATTEMPT") or None,
        workspace=env.get("GITHUB_WORKSPACE") or None, ref_name=env.get("GITHUB_REF_NAME") or None,
    )
    payload: Any = {}
    path = env.get("GITHUB_EVENT_PATH")
    if path:
        # the runner always writes a valid payload: a missing or broken one is a broken setup, and
        # guessing "no pull request" would silently skip the comment and the check
        from .config import load_document

        doc = load_document(path, max_bytes=MAX_EVENT_BYTES)
        payload = doc.data
        if not isinstance(payload, Mapping):
            raise ConfigError(path, "GITHUB_EVENT_PATH: expected a JSON object (the webhook event payload)", line=1)
    ev.payload = payload
    repo = payload.get("repository")
    if not ev.repository:
        ev.repository = _full_name(repo)
    if isinstance(repo, Mapping) and isinstance(repo.get("default_branch"), str):
        ev.default_branch = repo["default_branch"]
    pr = payload.get("pull_request")
    if ev.name in ("pull_request", "pull_request_target", "pull_request_review", "pull_request_review_comment") \
            and isinstance(pr, Mapping):
        number = pr.get("number", payload.get("number"))
        ev.pr_number = number if isinstance(number, int) and number > 0 else None
        head = pr.get("head") if isinstance(pr.get("head"), Mapping) else {}
        base = pr.get("base") if isinstance(pr.get("base"), Mapping) else {}
        ev.head_sha = _sha(head.get("sha"))
        ev.head_repo = _full_name(head.get("repo"))
        ev.base_repo = _full_name(base.get("repo")) or ev.repository
        ev.is_fork = ev.head_repo is None or (ev.head_repo or "").lower() != (ev.base_repo or "").lower()
    elif ev.name == "workflow_run" and isinstance(payload.get("workflow_run"), Mapping):
        wr = payload["workflow_run"]
        ev.head_sha = _sha(wr.get("head_sha"))
        ev.head_repo = _full_name(wr.get("head_repository"))
        ev.base_repo = _full_name(wr.get("repository")) or ev.repository
        ev.is_fork = bool(ev.head_repo and ev.base_repo and ev.head_repo.lower() != ev.base_repo.lower())
        prs = wr.get("pull_requests")
        # empty for pull requests from forks: `publish` then takes the number from its input or the artifact
        if isinstance(prs, list) and prs and isinstance(prs[0], Mapping) and isinstance(prs[0].get("number"), int):
            ev.pr_number = prs[0]["number"]
    if ev.head_sha is None:
        ev.head_sha = ev.sha
    return ev


# --------------------------------------------------------------------------------------------------
# workflow commands, outputs, summary


def _fmt_props(props: Mapping[str, Any]) -> str:
    items = [f"{k}={command_escape(v, property=True)}" for k, v in props.items() if v not in (None, "")]
    return (" " + ",".join(items)) if items else ""


class Workflow:
    """Workflow commands and the ``GITHUB_OUTPUT`` / ``GITHUB_STEP_SUMMARY`` files (see the module doc)."""

    def __init__(self, env: Mapping[str, str] | None = None, stdout: TextIO | None = None,
                 stderr: TextIO | None = None):
        self.env = os.environ if env is None else env
        self.actions = in_actions(self.env)
        self._stdout = stdout
        self._stderr = stderr
        self.masked: list[str] = []
        self.counts: dict[str, int] = {lvl: 0 for lvl in LEVELS}
        self.dropped: dict[str, int] = {lvl: 0 for lvl in LEVELS}
        self.outputs_written: dict[str, str] = {}

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
        self.outputs_written.update(clean)
        path = self.env.get("GITHUB_OUTPUT")
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
        with open(path, "a", encoding="utf-8") as fh:
            fh.write("".join(chunks))

    def append_summary(self, markdown: str) -> bool:
        """Append to ``GITHUB_STEP_SUMMARY``; the file never exceeds 1 MiB. False when there is no file."""
        path = self.env.get("GITHUB_STEP_SUMMARY")
        if not path:
            return False
        from .github import truncate

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
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(text)
        return True


# --------------------------------------------------------------------------------------------------
# options from inputs


@dataclass(frozen=True)
class InputSpec:
    """One action input and the command-line option (``dest``) it fills."""

    name: str
    dest: str
    convert: Callable[[str, str], Any] | None = None  # (input name, text) -> value


def _to_int(name: str, text: str) -> int:
    try:
        v = int(text.strip())
    except ValueError:
        raise UsageError(f"input '{name}' must be a positive integer, got '{log_escape(text, 40)}'") from None
    if v < 1:
        raise UsageError(f"input '{name}' must be a positive integer, got '{log_escape(text, 40)}'")
    return v


def _to_seed(name: str, text: str) -> int:
    try:
        v = int(text.strip())
    except ValueError:
        v = -1
    if v < 0:
        raise UsageError(f"input '{name}' must be a non-negative integer, got '{log_escape(text, 40)}'")
    return v


def _to_fraction(name: str, text: str) -> float:
    return parse_fraction(f"input '{name}'", text)


def _to_alpha(name: str, text: str) -> float:
    return parse_fraction(f"input '{name}'", text, low=1e-9, high=0.5)


def _to_bool(name: str, text: str) -> bool:
    return parse_bool(name, text)


def apply_inputs(args: Any, specs: Iterable[InputSpec], env: Mapping[str, str] | None = None) -> list[str]:
    """Fill every option of ``args`` that the command line left as None from its ``INPUT_*``.

    Command-line values win. Returns the names of the inputs that were used."""
    used = []
    for spec in specs:
        if getattr(args, spec.dest, None) is not None:
            continue
        text = get_input(spec.name, env)
        if text is None:
            continue
        setattr(args, spec.dest, spec.convert(spec.name, text) if spec.convert else text)
        used.append(spec.name)
    return used


#: inputs shared by `gate` and `publish`
COMMON_INPUTS = (
    InputSpec("baseline", "baseline"),
    InputSpec("policy", "policy"),
    InputSpec("alpha", "alpha", _to_alpha),
    InputSpec("margin", "margin", _to_fraction),
    InputSpec("max-asr", "max_asr", _to_fraction),
    InputSpec("comment", "comment", _to_bool),
    InputSpec("check-run", "check_run", _to_bool),
    InputSpec("fail-on-inconclusive", "fail_on_inconclusive", _to_bool),
    InputSpec("comment-author", "comment_author"),
    InputSpec("require-publish", "require_publish", _to_bool),
    InputSpec("check-name", "check_name"),
)
GATE_INPUTS = COMMON_INPUTS + (
    InputSpec("suite", "suite"),
    InputSpec("target", "target"),
    InputSpec("attempts", "attempts", _to_int),
    InputSpec("concurrency", "concurrency", _to_int),
    InputSpec("baseline-target", "baseline_target"),
    InputSpec("out", "out"),
    InputSpec("sequential", "sequential", _to_bool),
    InputSpec("sequential-seed", "seed", _to_seed),
)
PUBLISH_INPUTS = COMMON_INPUTS + (
    InputSpec("results", "results"),
    InputSpec("pr-number", "pr", _to_int),
)


def token_env_name(env: Mapping[str, str] | None = None, default: str = "GITHUB_TOKEN") -> str:
    """Name of the environment variable holding the token: the ``github-token`` input, else ``default``."""
    return input_source("github-token", env) or default


# --------------------------------------------------------------------------------------------------
# entrypoint


def _baseline_mode(env: MutableMapping[str, str], wf: Workflow) -> int:
    """Run the suite on the accepted model and open/update the baseline pull request."""
    import argparse

    from .commands import gate as gate_cmd
    from .commands.baseline import run_update

    args = gate_cmd.parse(["--no-comment", "--no-check-run"])
    apply_inputs(args, GATE_INPUTS, env)
    token_env = token_env_name(env)
    wf.mask(env.get(token_env))
    if not args.suite or not args.target:
        raise UsageError(f"input '{'suite' if not args.suite else 'target'}' is required")
    ev = read_event(env)
    results_path = gate_cmd.run_only(args, wf)
    base = get_input("base", env) or ev.default_branch or ev.ref_name
    if not base:
        raise UsageError("cannot tell the base branch for the baseline pull request; set the `base` input")
    ns = argparse.Namespace(results=results_path, baseline=args.baseline, baseline_dir="baselines",
                            allow_detector_change=bool(get_bool("allow-detector-change", env, False)),
                            open_pr=True, branch=get_input("branch", env), base=base, repo=ev.repository,
                            api_url=ev.api_url, token_env=token_env)
    code = run_update(ns)
    wf.set_outputs({"verdict": "", "results-path": gate_cmd.display_path(results_path, ev),
                    "asr": "", "baseline-asr": "", "delta": "", "p-value": "", "report-path": ""})
    return code


def main(argv: list[str] | None = None, env: MutableMapping[str, str] | None = None) -> int:
    """The Docker entrypoint: dispatch on the ``mode`` input. Exit codes as `asr-gate`."""
    env = os.environ if env is None else env
    wf = Workflow(env)
    # the token first: nothing may be printed before it is masked
    wf.mask(env.get(token_env_name(env)))
    try:
        mode = (get_input("mode", env) or "gate").lower()
        if mode not in MODES:
            raise UsageError(f"input 'mode' must be one of {', '.join(MODES)}, got '{log_escape(mode, 40)}'")
        if mode == "baseline":
            return _baseline_mode(env, wf)
        from .cli import main as cli_main

        # `gate` and `publish` read their INPUT_* themselves (GITHUB_ACTIONS=true in the runner)
        env.setdefault("GITHUB_ACTIONS", "true")
        return cli_main([mode] + list(argv or []))
    except GateError as exc:
        wf.error(f"asr-gate: {exc.one_line()}")
        return exc.exit_code


if __name__ == "__main__":  # pragma: no cover
    # run the canonical module, not this `__main__` copy, so state such as the masked values is shared
    from gate.action import main as _main

    sys.exit(_main(sys.argv[1:]))
