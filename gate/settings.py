"""Every setting the tool takes from its environment, read here and nowhere else.

Two sources: the GitHub Actions runner (``GITHUB_*``: commit, ref, workspace, repository, run) and
the tool's own switches (``ASR_GATE_*``). The Action's ``INPUT_*`` variables are read by
``gate.action.inputs`` on top of this module. Keeping every read in one place is what lets a reader
answer "what does the environment change?" by opening one file (docs/architecture.md).
"""
from __future__ import annotations

import os
from typing import Mapping

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_SERVER_URL = "https://github.com"


def _env(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def github_sha(env: Mapping[str, str] | None = None) -> str | None:
    """The commit the workflow runs on (``GITHUB_SHA``), or None outside Actions."""
    return _env(env).get("GITHUB_SHA") or None


def github_ref(env: Mapping[str, str] | None = None) -> str | None:
    return _env(env).get("GITHUB_REF") or None


def github_repository(env: Mapping[str, str] | None = None) -> str | None:
    """``owner/name`` of the repository the workflow runs in."""
    return _env(env).get("GITHUB_REPOSITORY") or None


def github_api_url(env: Mapping[str, str] | None = None) -> str:
    """The REST API root (GitHub Enterprise Server sets its own)."""
    return _env(env).get("GITHUB_API_URL") or DEFAULT_API_URL


def workflow_run_url(env: Mapping[str, str] | None = None) -> str | None:
    """Link to the workflow run, for provenance; None outside Actions."""
    e = _env(env)
    server, repo, run = (e.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"))
    return f"{server}/{repo}/actions/runs/{run}" if server and repo and run else None


def workspace(env: Mapping[str, str] | None = None) -> str:
    """The checkout the run works in: ``GITHUB_WORKSPACE`` under Actions, else the current directory."""
    return _env(env).get("GITHUB_WORKSPACE") or os.getcwd()


def in_actions(env: Mapping[str, str] | None = None) -> bool:
    """Under GitHub Actions (``GITHUB_ACTIONS=true``): options come from the action's inputs, and messages
    become workflow commands."""
    return _env(env).get("GITHUB_ACTIONS") == "true"


def github_workspace(env: Mapping[str, str] | None = None) -> str | None:
    """``GITHUB_WORKSPACE`` itself (None outside Actions), for paths shown relative to the checkout."""
    return _env(env).get("GITHUB_WORKSPACE") or None


def github_server_url(env: Mapping[str, str] | None = None) -> str:
    """The web root links point at (GitHub Enterprise Server sets its own), without a trailing slash."""
    return (_env(env).get("GITHUB_SERVER_URL") or DEFAULT_SERVER_URL).rstrip("/")


def github_ref_name(env: Mapping[str, str] | None = None) -> str | None:
    """The branch or tag the workflow runs on (``GITHUB_REF_NAME``)."""
    return _env(env).get("GITHUB_REF_NAME") or None


def github_run(env: Mapping[str, str] | None = None) -> tuple[str | None, str | None]:
    """(``GITHUB_RUN_ID``, ``GITHUB_RUN_ATTEMPT``): which workflow run this is."""
    e = _env(env)
    return e.get("GITHUB_RUN_ID") or None, e.get("GITHUB_RUN_ATTEMPT") or None


def github_event(env: Mapping[str, str] | None = None) -> tuple[str, str | None]:
    """(``GITHUB_EVENT_NAME``, ``GITHUB_EVENT_PATH``): the event that started the run and its payload file."""
    e = _env(env)
    return e.get("GITHUB_EVENT_NAME", ""), e.get("GITHUB_EVENT_PATH") or None


def github_output_file(env: Mapping[str, str] | None = None) -> str | None:
    """The file step outputs are appended to (``GITHUB_OUTPUT``)."""
    return _env(env).get("GITHUB_OUTPUT") or None


def github_step_summary_file(env: Mapping[str, str] | None = None) -> str | None:
    """The file the job summary is appended to (``GITHUB_STEP_SUMMARY``)."""
    return _env(env).get("GITHUB_STEP_SUMMARY") or None


def data_roots(env: Mapping[str, str] | None = None) -> list[str]:
    """Extra directories a suite's ``import:`` may read (``ASR_GATE_DATA_ROOTS``, an os.pathsep list)."""
    return [r for r in _env(env).get("ASR_GATE_DATA_ROOTS", "").split(os.pathsep) if r]


def github_write_throttle(env: Mapping[str, str] | None = None) -> bool:
    """PyGithub pauses between writes; ``ASR_GATE_GITHUB_THROTTLE=0`` turns that off (end-to-end tests)."""
    return _env(env).get("ASR_GATE_GITHUB_THROTTLE", "1") != "0"


#: seconds one user-supplied regular expression may spend on one reply (`gate.detectors.regex`)
DEFAULT_REGEX_TIMEOUT = 1.0


def regex_timeout(env: Mapping[str, str] | None = None) -> float:
    """``ASR_GATE_REGEX_TIMEOUT``: the time limit of one regex search in a detector, in seconds (default 1;
    a value that is not a positive number keeps the default)."""
    try:
        value = float(_env(env).get("ASR_GATE_REGEX_TIMEOUT", "") or DEFAULT_REGEX_TIMEOUT)
    except ValueError:
        return DEFAULT_REGEX_TIMEOUT
    return value if 0 < value < float("inf") else DEFAULT_REGEX_TIMEOUT


def event_loop(env: Mapping[str, str] | None = None) -> str:
    """``ASR_GATE_EVENT_LOOP``: the event loop of the asyncio engine, ``uvloop`` or ``asyncio`` ('' = uvloop when
    it is installed; `gate.run.engine_async.event_loop` checks the value)."""
    return _env(env).get("ASR_GATE_EVENT_LOOP", "").strip()


def debug(env: Mapping[str, str] | None = None) -> bool:
    """``ASR_GATE_DEBUG`` set: show tracebacks instead of the one-line error."""
    return bool(_env(env).get("ASR_GATE_DEBUG"))
