"""Shared constants and helpers of the GitHub contract tests (imported by conftest.py and the tests)."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from functools import lru_cache
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
WEBHOOK_EXAMPLES = REPO_ROOT / "node_modules" / "@octokit" / "webhooks-examples" / "api.github.com" / "index.json"

REPO = "octo-org/widgets"
#: token -> (login, app installation token?, may write?)
TOKENS = {
    "ghs_actions0000000000000000000000000000": ("github-actions[bot]", True, True),  # Actions GITHUB_TOKEN
    "ghs_forkreadonly00000000000000000000000": ("github-actions[bot]", True, False),  # fork PR: read-only
    "ghp_alicepat0000000000000000000000000000": ("alice", False, True),  # a personal access token
}
ACTIONS_TOKEN, FORK_TOKEN, PAT_TOKEN = TOKENS


def connect_fake(fake, token: str = ACTIONS_TOKEN, **kwargs):
    from gate.publish import github as gg

    return gg.connect(token, fake.url, REPO, write_throttle=False, retries=0, **kwargs)


def raw_request(base_url: str, method: str, path: str, body: object | None = None,
                token: str = ACTIONS_TOKEN) -> tuple[int, dict]:
    """One HTTP request outside PyGithub, for the negative contract tests."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"{base_url}{path}", data=data, method=method, headers={
        "Authorization": f"token {token}", "Content-Type": "application/json", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


@lru_cache(maxsize=1)
def _webhook_examples() -> list[dict[str, Any]]:
    if not WEBHOOK_EXAMPLES.exists():
        import pytest

        pytest.fail(f"{WEBHOOK_EXAMPLES} is missing: run `make test` or `npm ci` first")
    return json.loads(WEBHOOK_EXAMPLES.read_text(encoding="utf-8"))


def webhook_example(event: str, action: str | None = None, index: int = 0) -> dict[str, Any]:
    """A real webhook payload from npm @octokit/webhooks-examples (what GITHUB_EVENT_PATH holds).

    ``webhook_example("pull_request", "opened")``; ``index`` picks among several examples.
    """
    for entry in _webhook_examples():
        if entry["name"] == event:
            matches = [e for e in entry["examples"] if action is None or e.get("action") == action]
            if len(matches) > index:
                return json.loads(json.dumps(matches[index]))
    raise KeyError(f"no webhook example for {event} {action or ''}".strip())
