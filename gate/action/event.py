"""The event that started the workflow: the payload at ``GITHUB_EVENT_PATH`` and the ``GITHUB_*`` variables.

What the gate needs from it: the pull request (number, head commit, fork or not), the repository, and
links to the run and the commit. The variables are read through `gate.settings`.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from .. import settings
from ..errors import ConfigError

_SHA_RE = re.compile(r"^[0-9a-f]{40}$|^[0-9a-f]{64}$")
_REPO_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
#: webhook payloads are at most 25 MB (GitHub caps deliveries there)
MAX_EVENT_BYTES = 25 * 1024 * 1024
#: events whose payload carries the pull request under `pull_request`
PULL_REQUEST_EVENTS = ("pull_request", "pull_request_target", "pull_request_review", "pull_request_review_comment")


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

    def display_path(self, path: str | None) -> str:
        """A path for outputs and messages: relative to the workspace when inside it (Docker actions see the
        workspace at /github/workspace, later steps at $GITHUB_WORKSPACE)."""
        if not path:
            return ""
        base = self.workspace or os.getcwd()
        full = os.path.abspath(path)
        try:
            rel = os.path.relpath(full, os.path.abspath(base))
        except ValueError:
            return full
        return full if rel.startswith("..") else rel


def _full_name(repo: Any) -> str | None:
    if isinstance(repo, Mapping):
        name = repo.get("full_name")
        return name if isinstance(name, str) else None
    return None


def _sha(value: Any) -> str | None:
    return value if isinstance(value, str) and _SHA_RE.match(value) else None


def read_event(env: Mapping[str, str] | None = None) -> Event:
    """Parse the ``GITHUB_*`` variables and the event payload (unset GITHUB_EVENT_PATH → no PR;
    a payload that is missing or broken is a ConfigError, exit 2)."""
    name, path = settings.github_event(env)
    run_id, run_attempt = settings.github_run(env)
    ev = Event(
        name=name, repository=settings.github_repository(env), sha=_sha(settings.github_sha(env)),
        api_url=settings.github_api_url(env).rstrip("/"), server_url=settings.github_server_url(env),
        run_id=run_id, run_attempt=run_attempt, workspace=settings.github_workspace(env),
        ref_name=settings.github_ref_name(env),
    )
    payload: Any = {}
    if path:
        # the runner always writes a valid payload: a missing or broken one is a broken setup, and
        # guessing "no pull request" would silently skip the comment and the check
        from ..config import load_document

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
    if ev.name in PULL_REQUEST_EVENTS and isinstance(pr, Mapping):
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
