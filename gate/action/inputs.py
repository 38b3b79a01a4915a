"""The action's inputs: every ``INPUT_*`` read, on top of `gate.settings` (which reads ``GITHUB_*``).

The runner hands a Docker container action its inputs as environment variables ``INPUT_<NAME>``: the
name upper-cased, spaces replaced by ``_``, hyphens *kept* (``INPUT_FAIL-ON-INCONCLUSIVE``). Some
wrappers (and people testing by hand) use the underscore form (``INPUT_FAIL_ON_INCONCLUSIVE``); both are
accepted, the hyphen form first. ``required: true`` in action.yml is *not* enforced by the runner, so
`require_input` / `require_options` check it here and a missing input is one ``::error::`` line and exit 2.

Each mode's inputs are a table of `InputSpec` (input name → command-line option): `GATE_INPUTS`,
`PUBLISH_INPUTS`, `BASELINE_INPUTS`, plus ``mode`` and ``github-token`` (`ENTRYPOINT_INPUTS`). Together they
are exactly the ``inputs:`` of action.yml (tests/test_lint.py checks it).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from .. import settings
from ..errors import UsageError
from ..report.escape import log_escape

#: what the ``mode`` input may say (docs/architecture.md)
MODES = ("gate", "publish", "baseline")
#: inputs the entrypoint reads itself, before any mode
ENTRYPOINT_INPUTS = ("mode", "github-token")
_TRUE = ("true", "True", "TRUE")
_FALSE = ("false", "False", "FALSE")


def _env(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def in_actions(env: Mapping[str, str] | None = None) -> bool:
    """Under GitHub Actions: unset options are taken from the inputs."""
    return settings.in_actions(env)


def input_env_names(name: str) -> tuple[str, ...]:
    """``fail-on-inconclusive`` → (``INPUT_FAIL-ON-INCONCLUSIVE``, ``INPUT_FAIL_ON_INCONCLUSIVE``)."""
    up = name.strip().upper().replace(" ", "_")
    alt = up.replace("-", "_")
    return (f"INPUT_{up}",) if alt == up else (f"INPUT_{up}", f"INPUT_{alt}")


def get_input(name: str, env: Mapping[str, str] | None = None) -> str | None:
    """The input's value with surrounding whitespace removed, or None when unset or empty."""
    env = _env(env)
    for key in input_env_names(name):
        value = env.get(key)
        if value is not None and value.strip():
            return value.strip()
    return None


def input_source(name: str, env: Mapping[str, str] | None = None) -> str | None:
    """The environment variable that holds the input (for passing a token by *name*), or None."""
    env = _env(env)
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


def parse_fraction(name: str, text: str, *, low: float = 0.0, high: float = 1.0) -> float:
    """``0.05`` or ``5%`` → 0.05; out of [low, high] is a usage error naming the option (CLI and inputs)."""
    t = str(text).strip()
    try:
        v = float(t[:-1]) / 100 if t.endswith("%") else float(t)
    except ValueError:
        raise UsageError(f"{name}: expected a number such as 0.05 or 5%, got '{log_escape(t, 40)}'") from None
    if not (low <= v <= high) or v != v:
        raise UsageError(f"{name}: {t} is out of range [{low:g}, {high:g}]")
    return v


def read_mode(env: Mapping[str, str] | None = None) -> str:
    """The ``mode`` input (default ``gate``); UsageError when it is not one of `MODES`."""
    mode = (get_input("mode", env) or "gate").lower()
    if mode not in MODES:
        raise UsageError(f"input 'mode' must be one of {', '.join(MODES)}, got '{log_escape(mode, 40)}'")
    return mode


# --------------------------------------------------------------------------------------------------
# the token (passed by the *name* of the variable that holds it, so it never sits in an argv)


def token_env_name(env: Mapping[str, str] | None = None, default: str = "GITHUB_TOKEN") -> str:
    """Name of the environment variable holding the token: the ``github-token`` input, else ``default``."""
    return input_source("github-token", env) or default


def token_env_for(option: str | None, env: Mapping[str, str] | None = None) -> str:
    """``--github-token-env`` when given, else under Actions the ``github-token`` input, else GITHUB_TOKEN."""
    return option or (token_env_name(env) if in_actions(env) else "GITHUB_TOKEN")


def token_value(token_env: str, env: Mapping[str, str] | None = None) -> str | None:
    """The token exactly as the environment holds it (what must be masked), None when unset."""
    return _env(env).get(token_env)


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


def _to_list(name: str, text: str) -> list[str] | None:
    """A list input: one value per line or comma-separated; blank means unset."""
    values = [v.strip() for line in text.splitlines() for v in line.split(",") if v.strip()]
    return values or None


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


def fill_options(args: Any, specs: Iterable[InputSpec], env: Mapping[str, str] | None = None) -> bool:
    """Under Actions, `apply_inputs`; outside, nothing. Returns whether we are under Actions (for messages)."""
    actions = in_actions(env)
    if actions:
        apply_inputs(args, specs, env)
    return actions


def require_options(args: Any, names: Iterable[str], *, actions: bool) -> None:
    """UsageError naming the first option that is still unset: as an input under Actions, else as a flag."""
    for name in names:
        if not getattr(args, name):
            raise UsageError(f"input '{name}' is required" if actions else f"--{name} is required")


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
    InputSpec("only", "only", _to_list),
    InputSpec("category", "category", _to_list),
    InputSpec("tag", "tag", _to_list),
)
PUBLISH_INPUTS = COMMON_INPUTS + (
    InputSpec("results", "results"),
    InputSpec("pr-number", "pr", _to_int),
)
#: what mode `baseline` reads besides `GATE_INPUTS` (the options of `asr-gate baseline update --open-pr`)
BASELINE_INPUTS = (
    InputSpec("base", "base"),
    InputSpec("branch", "branch"),
    InputSpec("allow-detector-change", "allow_detector_change", _to_bool),
    InputSpec("allow-subset", "allow_subset", _to_bool),
)
