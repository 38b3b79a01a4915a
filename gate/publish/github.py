"""The GitHub REST client of asr-gate: the check run, the sticky pull-request comment, the baseline pull request.

This layer takes strings that are already rendered (and escaped) by `gate.report`; it never decides a
verdict and never formats results (`gate.publish.publisher` decides what to publish, docs/architecture.md).
It talks to the REST API through PyGithub, which is imported lazily inside functions so that importing
this module (and `asr-gate --help`) stays cheap.

API
---
``connect(token, api_url, repo_full_name, *, write_throttle=True, comment_author=None, ...)``
    -> `GitHubClient`. No request is made yet (PyGithub runs in lazy mode), so connecting never fails
    because of the network. ``api_url`` is ``GITHUB_API_URL`` in Actions (GHES: ``https://host/api/v3``;
    tests: ``http://127.0.0.1:<port>``). ``write_throttle=False`` disables PyGithub's pause between
    writes (1 s by default) and between requests: use it in tests only.
``publish_check_run(client, *, name, head_sha, conclusion, title, summary, text, annotations)`` -> URL
    Creates a completed check run, or updates the one this tool created earlier for the same commit and
    name (recognised by ``external_id``, default ``asr-gate:<name>``: the workflow job's own check run is
    also made by the ``github-actions`` app and may share the name, and must not be overwritten).
    ``summary`` and ``text`` are truncated deliberately below 65,535 characters with a visible note.
    Annotations go 50 per request: the first 50 with the create/update, the rest in further updates
    (GitHub appends them; re-publishing for the same commit therefore appends annotations again).
``upsert_sticky_comment(client, *, pr_number, marker, body)`` -> URL
    One comment per suite: the comment whose body *starts with* ``marker`` (a hidden HTML comment, see
    `sticky_marker`) **and** whose author is this token's identity (`identity`) is edited in place;
    otherwise a new one is created (`is_sticky_comment`). A comment that merely contains the marker
    (another workflow's bot comment quoting a pull request's body, say) or that someone else wrote is
    never touched. The body is truncated deliberately below 65,536 characters; the marker stays at the
    top, so truncation never breaks the lookup.
``open_or_update_pull_request(client, *, branch, base, message, title, body, path=, content= | files=)``
    -> URL | None. For baseline updates: creates ``branch`` from ``base`` if missing (git refs API),
    resets it to ``base`` if it is left over from a closed or merged pull request, writes ``path`` (or
    each of ``files``) on it through the contents API (no commit for unchanged content), then edits the
    open pull request from ``branch`` into ``base`` or opens one. Never opens a second pull request for
    the same branch.
    Returns None, writing nothing, when ``base`` already has this content and no PR is open.
``default_branch(client)`` -> the repository's default branch (the base of a baseline pull request).
``pull_request_head_sha(client, number)`` -> the commit a pull request is at now (`publish` checks an
    artifact against it).
``identity(client)`` -> login whose comments are "ours" (see below).
``sticky_marker(suite_id)``, ``truncate(text, limit)``, ``Annotation``: helpers.

Identity of the token
---------------------
The Actions ``GITHUB_TOKEN`` is a GitHub App installation token: ``GET /user`` answers 403 ("Resource
not accessible by integration") and its comments are authored by ``github-actions[bot]``. So:

1. ``comment_author`` given to `connect` (action input ``comment-author``) wins. Set it to
   ``<app-slug>[bot]`` when publishing with your own GitHub App's installation token.
2. Installation tokens (prefix ``ghs_``, which includes ``GITHUB_TOKEN``) -> ``github-actions[bot]``.
3. Otherwise (a personal access token: ``ghp_``, ``github_pat_``, ...) -> ``GET /user``'s ``login``;
   if that endpoint is refused, fall back to ``github-actions[bot]``.

Note that check runs can only be written with a GitHub App token (``GITHUB_TOKEN`` is one); a personal
access token gets 403 and thus the same notice as a read-only token.

Errors
------
Every failure surfaces as `PublishError` (a `gate.errors.MeasureError`, exit code 3 if nobody catches
it) with a one-line message and never a traceback or a token. 401/403/404 on a write set
``read_only=True`` and carry the notice `READ_ONLY_NOTICE`: a pull request from a fork gets a read-only
token, so callers degrade to the job summary and outputs and point at the ``workflow_run`` pattern
(a second workflow, triggered by ``workflow_run``, downloads the results artifact and runs
``asr-gate publish`` with a write token).
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import logging
import re
import urllib.parse
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping

from .. import settings
from ..errors import MeasureError

if TYPE_CHECKING:  # pragma: no cover
    import github

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.github.com"
#: GitHub's limits (docs/architecture.md, the GitHub Actions contract). Sizes are checked in UTF-8 bytes,
#: which is never less than the number of characters or UTF-16 code units, so the result is below the limit
#: however GitHub counts.
CHECK_RUN_TEXT_LIMIT = 65_535
COMMENT_BODY_LIMIT = 65_536
ANNOTATIONS_PER_REQUEST = 50
ANNOTATION_MESSAGE_LIMIT = 64_000
ANNOTATION_TITLE_LIMIT = 255
CHECK_RUN_CONCLUSIONS = ("success", "failure", "neutral")
ANNOTATION_LEVELS = ("notice", "warning", "failure")
ACTIONS_BOT_LOGIN = "github-actions[bot]"
INSTALLATION_TOKEN_PREFIX = "ghs_"

READ_ONLY_NOTICE = (
    "this token cannot write {what} — fork PR? Pull requests from forks get a read-only GITHUB_TOKEN "
    "(and no secrets); the verdict is still in the job summary and the action outputs. For a fork, run the "
    "gate in a maintainer-approved pull_request_target job, or publish from a separate workflow triggered "
    "by `workflow_run` (unverified only; see \"Pull requests from forks\" in the asr-gate docs, "
    "docs/action.md); otherwise grant the job `permissions: {permission}: write`."
)
TRUNCATION_NOTE = (
    "\n\n---\n**… truncated** by asr-gate: {omitted:,} characters omitted to stay within GitHub's "
    "limit of {limit:,} characters. The full report is in the job summary and the results artifact.\n"
)

_REPO_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")


class PublishError(MeasureError):
    """Publishing to GitHub failed. The verdict is unaffected; the caller decides what to do.

    Attributes: ``status`` (HTTP status or None when GitHub was unreachable), ``read_only`` (the token
    may not write: a fork pull request or missing ``permissions:``), ``operation`` (what we tried).
    """

    def __init__(self, message: str, *, status: int | None = None, read_only: bool = False,
                 operation: str | None = None):
        super().__init__(message)
        self.status = status
        self.read_only = read_only
        self.operation = operation


@dataclass(frozen=True)
class Annotation:
    """One check-run annotation (a line in a file, e.g. the attack in the suite YAML)."""

    path: str
    start_line: int
    end_line: int
    level: str  # notice | warning | failure
    message: str
    title: str | None = None
    raw_details: str | None = None

    def as_dict(self) -> dict[str, Any]:
        if self.level not in ANNOTATION_LEVELS:
            raise ValueError(f"annotation level must be one of {ANNOTATION_LEVELS}, not {self.level!r}")
        start = max(1, int(self.start_line))
        out: dict[str, Any] = {
            "path": self.path,
            "start_line": start,
            "end_line": max(start, int(self.end_line)),
            "annotation_level": self.level,
            "message": truncate(self.message, ANNOTATION_MESSAGE_LIMIT, note="\n… truncated"),
        }
        if self.title:
            out["title"] = truncate(self.title, ANNOTATION_TITLE_LIMIT, note="…")
        if self.raw_details:
            out["raw_details"] = truncate(self.raw_details, ANNOTATION_MESSAGE_LIMIT, note="\n… truncated")
        return out

    @classmethod
    def coerce(cls, value: "Annotation | Mapping[str, Any]") -> "Annotation":
        if isinstance(value, Annotation):
            return value
        return cls(
            path=value["path"],
            start_line=value.get("start_line", 1),
            end_line=value.get("end_line", value.get("start_line", 1)),
            level=value.get("annotation_level", value.get("level", "warning")),
            message=value["message"],
            title=value.get("title"),
            raw_details=value.get("raw_details"),
        )


@dataclass
class GitHubClient:
    """A PyGithub connection bound to one repository (see `connect`)."""

    gh: "github.Github"
    repo: "github.Repository.Repository"
    api_url: str
    repo_full_name: str
    token_kind: str  # "installation" (ghs_, incl. GITHUB_TOKEN) | "user" (PAT and others)
    comment_author: str | None = None
    _secrets: tuple[str, ...] = field(default=(), repr=False)
    _identity: str | None = field(default=None, repr=False)

    @property
    def owner(self) -> str:
        return self.repo_full_name.split("/", 1)[0]

    def redact(self, text: str) -> str:
        """``text`` without the token, whole or any piece of 8+ characters of it (`gate.redact`)."""
        from ..redact import prepare, scrub

        return scrub(text, prepare(self._secrets))


# --------------------------------------------------------------------------------------------------
# helpers


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def _cut_utf8(text: str, max_bytes: int) -> str:
    """The longest prefix of text whose UTF-8 encoding fits in max_bytes (never splits a character)."""
    if max_bytes <= 0:
        return ""
    return text.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore")


def _close_markdown(kept: str) -> str:
    """What to append after a cut so the rest of the page renders: close fences and <details>."""
    closing = ""
    if sum(1 for line in kept.splitlines() if line.lstrip().startswith("```")) % 2:
        closing += "\n```"
    opened = len(re.findall(r"<details\b", kept, flags=re.I)) - len(re.findall(r"</details\s*>", kept, flags=re.I))
    closing += "\n</details>" * max(0, opened)
    return closing


def truncate(text: str, limit: int, *, note: str | None = None) -> str:
    """Return text if it fits in ``limit`` (UTF-8 bytes), else a prefix plus a visible note.

    The cut falls on a line break when one is near, open code fences and ``<details>`` blocks are
    closed, and ``note`` (default `TRUNCATION_NOTE`, may use ``{omitted}`` and ``{limit}``) is appended;
    the result never exceeds ``limit``.
    """
    if _utf8_len(text) <= limit:
        return text
    template = TRUNCATION_NOTE if note is None else note
    # `omitted` is at most len(text), so this is the longest the note can get
    budget = limit - _utf8_len(template.format(omitted=len(text), limit=limit))
    kept = _cut_utf8(text, budget)
    nl = kept.rfind("\n")
    if nl > 0 and len(kept) - nl <= 2000:
        kept = kept[:nl]
    closing = _close_markdown(kept)
    while _utf8_len(kept) + _utf8_len(closing) > budget:
        kept = _cut_utf8(kept, _utf8_len(kept) - _utf8_len(closing))
        closing = _close_markdown(kept)
    return kept + closing + template.format(omitted=len(text) - len(kept), limit=limit)


def sticky_marker(suite_id: str, *, unverified: bool = False) -> str:
    """The hidden marker that identifies the sticky comment of one suite: ``<!-- asr-gate:suite=ID -->``, or
    ``<!-- asr-gate:unverified-suite=ID -->`` for results measured by the pull request's own workflow (their
    own comment, so they never replace a trusted one).

    The id is percent-encoded so it can never close the HTML comment or contain ``--``.
    """
    safe = urllib.parse.quote(str(suite_id), safe="._:/@+")
    while "--" in safe:
        safe = safe.replace("--", "-%2D")
    return f"<!-- asr-gate:{'unverified-' if unverified else ''}suite={safe} -->"


def branch_name_ok(name: str) -> bool:
    """Whether git would accept ``name`` as a branch (git check-ref-format, plus no leading ``-``)."""
    bad = (
        not name or name.startswith(("/", "-", ".")) or name.endswith(("/", ".", ".lock")) or ".." in name
        or "//" in name or "@{" in name or name == "@" or re.search(r"[\x00-\x20\x7f~^:?*\[\\]", name)
        or any(part.startswith(".") or part.endswith(".lock") for part in name.split("/"))
    )
    return not bad


def _check_branch_name(name: str, what: str) -> None:
    """Reject names git would refuse, before they reach a URL."""
    if not branch_name_ok(name):
        raise ValueError(f"invalid {what} branch name {name!r}")


def _exc_message(exc: Exception, client: "GitHubClient | None" = None) -> str:
    """GitHub's error message on one line, at most 300 characters; the token is removed before the cut."""
    data = getattr(exc, "data", None)
    message = None
    if isinstance(data, dict):
        message = data.get("message")
        errors = data.get("errors")
        if isinstance(errors, list) and errors:
            details = "; ".join(str(e.get("message") or e.get("code") or e) if isinstance(e, dict) else str(e)
                                for e in errors[:3])
            message = f"{message} ({details})" if message else details
    text = str(message or getattr(exc, "message", None) or exc.__class__.__name__)
    if client is not None:
        text = client.redact(text)
    text = re.sub(r"[\x00-\x1f\x7f]", " ", text)  # one line, no terminal escapes
    text = " ".join(text.split())[:300]
    return client.redact(text) if client is not None else text


@contextlib.contextmanager
def _api(client: GitHubClient, operation: str, *, write: bool, what: str = "", permission: str = "") -> Iterator[None]:
    """Turn PyGithub / network exceptions into a one-line `PublishError`."""
    import requests
    from github import GithubException, RateLimitExceededException

    try:
        yield
    except PublishError:
        raise
    except GithubException as exc:
        status = getattr(exc, "status", None)
        message = _exc_message(exc, client)
        if status == 401:
            raise PublishError(f"GitHub rejected the token during {operation} (401: {message})",
                               status=status, read_only=write, operation=operation) from None
        if isinstance(exc, RateLimitExceededException):
            raise PublishError(f"GitHub API rate limit exceeded during {operation} ({message})",
                               status=status, operation=operation) from None
        if write and status in (403, 404):
            notice = READ_ONLY_NOTICE.format(what=what or operation, permission=permission or "contents")
            raise PublishError(f"{notice} (HTTP {status} during {operation}: {message})",
                               status=status, read_only=True, operation=operation) from None
        raise PublishError(f"GitHub API error during {operation}: HTTP {status}: {message}",
                           status=status, operation=operation) from None
    except requests.exceptions.RequestException as exc:
        raise PublishError(
            f"GitHub API unreachable at {client.redact(client.api_url)} during {operation} "
            f"({exc.__class__.__name__})", operation=operation) from None


def _is_not_found(exc: Exception) -> bool:
    return getattr(exc, "status", None) == 404


# --------------------------------------------------------------------------------------------------
# connection and identity


def connect(
    token: str,
    api_url: str | None = DEFAULT_API_URL,
    repo_full_name: str = "",
    *,
    write_throttle: bool | None = None,
    comment_author: str | None = None,
    timeout: float = 30,
    retries: int | None = None,
    user_agent: str = "asr-gate",
) -> GitHubClient:
    """Bind a PyGithub client to ``repo_full_name`` ("owner/name") on ``api_url``. No request is made.

    ``write_throttle=False`` sets PyGithub's ``seconds_between_writes`` / ``seconds_between_requests``
    to 0 (tests); ``None`` reads ``ASR_GATE_GITHUB_THROTTLE`` ("0" disables, for end-to-end tests
    that drive the CLI against a local fake) and otherwise keeps PyGithub's polite defaults.
    ``retries=None`` keeps PyGithub's default retry policy (rate limits, 5xx); tests pass 0. ``comment_author`` overrides the login used to recognise our sticky comment (`identity`).
    """
    from github import Auth, Github

    if not token or not token.strip():
        raise PublishError("no GitHub token (set `github-token`, usually ${{ github.token }})", operation="connect")
    token = token.strip()
    api_url = (api_url or DEFAULT_API_URL).rstrip("/")
    parsed = urllib.parse.urlparse(api_url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise PublishError(f"invalid GitHub API URL {api_url!r}", operation="connect")
    if not _REPO_RE.match(repo_full_name or ""):
        raise PublishError(f"invalid repository {repo_full_name!r} (expected owner/name)", operation="connect")
    kwargs: dict[str, Any] = dict(
        auth=Auth.Token(token), base_url=api_url, timeout=max(1, int(timeout)), user_agent=user_agent, lazy=True,
    )
    if write_throttle is None:
        write_throttle = settings.github_write_throttle()
    if not write_throttle:
        kwargs.update(seconds_between_requests=0, seconds_between_writes=0)
    if retries is not None:
        kwargs["retry"] = retries
    gh = Github(**kwargs)
    repo = gh.get_repo(repo_full_name)
    return GitHubClient(
        gh=gh, repo=repo, api_url=api_url, repo_full_name=repo_full_name,
        token_kind="installation" if token.startswith(INSTALLATION_TOKEN_PREFIX) else "user",
        comment_author=(comment_author or "").strip() or None, _secrets=(token,),
    )


def identity(client: GitHubClient) -> str:
    """The login that authors our comments (cached). See the module docstring for the rules."""
    if client._identity:
        return client._identity
    if client.comment_author:
        login = client.comment_author
    elif client.token_kind == "installation":
        login = ACTIONS_BOT_LOGIN
    else:
        from github import GithubException

        with _api(client, "GET /user", write=False):
            try:
                login = client.gh.get_user().login
            except GithubException as exc:
                if getattr(exc, "status", None) not in (403, 404):
                    raise
                # "Resource not accessible by integration": an app token after all
                login = ACTIONS_BOT_LOGIN
    client._identity = login
    return login


# --------------------------------------------------------------------------------------------------
# check run


def _find_check_run(client: GitHubClient, head_sha: str, name: str, external_id: str) -> Any | None:
    commit = client.repo.get_commit(head_sha)
    for run in commit.get_check_runs(check_name=name):
        if run.name == name and (run.external_id or "") == external_id:
            return run
    return None


def publish_check_run(
    client: GitHubClient,
    *,
    name: str,
    head_sha: str,
    conclusion: str,
    title: str,
    summary: str,
    text: str = "",
    annotations: Iterable[Annotation | Mapping[str, Any]] = (),
    external_id: str | None = None,
    details_url: str | None = None,
) -> str:
    """Create or update the completed check run ``name`` on ``head_sha``; return its html URL.

    ``conclusion`` is success | failure | neutral (`Verdict.conclusion` maps verdicts to these).
    """
    if conclusion not in CHECK_RUN_CONCLUSIONS:
        raise ValueError(f"check-run conclusion must be one of {CHECK_RUN_CONCLUSIONS}, not {conclusion!r}")
    if not re.fullmatch(r"[0-9a-fA-F]{7,64}", head_sha or ""):
        raise ValueError(f"head_sha must be a commit SHA, not {head_sha!r}")
    external_id = f"asr-gate:{name}" if external_id is None else external_id
    title = truncate(" ".join(title.split()), 1024, note="…")
    output: dict[str, Any] = {"title": title, "summary": truncate(summary, CHECK_RUN_TEXT_LIMIT)}
    if text:
        output["text"] = truncate(text, CHECK_RUN_TEXT_LIMIT)
    items = [Annotation.coerce(a).as_dict() for a in annotations]
    batches = [items[i:i + ANNOTATIONS_PER_REQUEST] for i in range(0, len(items), ANNOTATIONS_PER_REQUEST)]
    now = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)
    what = "checks"
    with _api(client, "list check runs", write=False):
        existing = _find_check_run(client, head_sha, name, external_id)
    first = dict(output, annotations=batches[0]) if batches else output
    params: dict[str, Any] = dict(status="completed", conclusion=conclusion, completed_at=now, output=first)
    if details_url:
        params["details_url"] = details_url
    if existing is not None:
        with _api(client, "update check run", write=True, what=what, permission="checks"):
            existing.edit(external_id=external_id, **params)
        run = existing
        log.info("updated check run %s", run.id)
    else:
        with _api(client, "create check run", write=True, what=what, permission="checks"):
            run = client.repo.create_check_run(name=name, head_sha=head_sha, external_id=external_id, **params)
        log.info("created check run %s", run.id)
    for batch in batches[1:]:
        with _api(client, "add check-run annotations", write=True, what=what, permission="checks"):
            run.edit(output=dict(output, annotations=batch))
    return run.html_url


# --------------------------------------------------------------------------------------------------
# sticky comment


def is_sticky_comment(comment: Any, marker: str, login: str) -> bool:
    """Whether ``comment`` is our sticky comment: its body *starts with* ``marker`` and ``login`` wrote it.

    Both, because either alone can be forged: any comment can quote the marker (a bot that quotes a pull
    request's body, a person), and the same bot identity (``github-actions[bot]``) writes the comments of
    every workflow of the repository."""
    user = comment.user.login if comment.user else ""
    return user.lower() == login.lower() and (comment.body or "").startswith(marker)


def upsert_sticky_comment(client: GitHubClient, *, pr_number: int, marker: str, body: str) -> str:
    """Edit our comment carrying ``marker`` on pull request ``pr_number``, or create it; return its URL."""
    if not re.fullmatch(r"<!--[^\n]*?-->", marker or "") or "--" in marker[4:-3]:
        raise ValueError(f"marker must be a one-line HTML comment such as {sticky_marker('suite')!r}")
    if not body.startswith(marker):
        body = f"{marker}\n{body}"
    body = truncate(body, COMMENT_BODY_LIMIT)  # keeps the start, so the marker stays first
    me = identity(client).lower()
    issue = client.repo.get_issue(int(pr_number))
    ours = None
    with _api(client, "list pull-request comments", write=False):
        for comment in issue.get_comments():
            if is_sticky_comment(comment, marker, me):
                ours = comment
                break
    if ours is not None:
        if ours.body != body:
            with _api(client, "edit the sticky comment", write=True, what="pull-request comments",
                      permission="pull-requests"):
                ours.edit(body)
        return ours.html_url
    with _api(client, "create the sticky comment", write=True, what="pull-request comments",
              permission="pull-requests"):
        comment = issue.create_comment(body)
    return comment.html_url


# --------------------------------------------------------------------------------------------------
# baseline pull request


def _get_ref(client: GitHubClient, branch: str) -> Any | None:
    """The completed GitRef of ``refs/heads/<branch>``, or None when the branch does not exist.

    Completed on purpose: a lazy GitRef keeps the URL it was requested with (``/git/ref/...``), and
    PyGithub's ``GitRef.edit`` PATCHes that URL, whereas the update endpoint is ``/git/refs/...``;
    the response's own ``url`` is the right one.
    """
    from github import GithubException

    try:
        ref = client.repo.get_git_ref(f"heads/{branch}")
        ref.object  # noqa: B018 - completes the object (GET)
        return ref
    except GithubException as exc:
        if _is_not_found(exc):
            return None
        raise


def _get_ref_sha(client: GitHubClient, branch: str) -> str | None:
    """The commit SHA of ``refs/heads/<branch>``, or None when the branch does not exist."""
    ref = _get_ref(client, branch)
    return None if ref is None else ref.object.sha


def _find_open_pull(client: GitHubClient, branch: str, base: str) -> Any | None:
    for pull in client.repo.get_pulls(state="open", head=f"{client.owner}:{branch}", base=base):
        if pull.head.ref == branch:
            return pull
    return None


def open_or_update_pull_request(
    client: GitHubClient,
    *,
    branch: str,
    base: str,
    message: str,
    title: str,
    body: str,
    path: str | None = None,
    content: str | bytes | None = None,
    files: Mapping[str, str | bytes] | None = None,
) -> str | None:
    """Put files on ``branch`` and make sure one open PR ``branch`` -> ``base`` shows them.

    Give ``path`` and ``content`` for one file, or ``files`` ({path: content}) for several (e.g. the
    baseline and its history); each changed file is one commit through the contents API, with
    ``message``. Returns the pull request's html URL, or None when ``base`` already holds exactly this
    content and no pull request is open (nothing to propose; nothing is written).
    """
    from github import GithubException

    _check_branch_name(branch, "head")
    _check_branch_name(base, "base")
    if branch == base:
        raise ValueError("the baseline branch must differ from the base branch")
    wanted: dict[str, bytes] = {}
    items = list((files or {}).items()) + ([(path, content)] if path is not None else [])
    if not items or any(c is None for _, c in items):
        raise ValueError("give path and content, or files")
    for name, data in items:
        clean = str(name).strip("/")
        if not clean or any(part in ("", ".", "..") for part in clean.split("/")):
            raise ValueError(f"invalid file path {name!r}")
        wanted[clean] = data.encode("utf-8") if isinstance(data, str) else bytes(data)  # type: ignore[arg-type]
    body = truncate(body, COMMENT_BODY_LIMIT)
    title = " ".join(title.split())[:256]
    perm = "contents"

    with _api(client, f"read branch {base}", write=False):
        base_sha = _get_ref_sha(client, base)
    if base_sha is None:
        raise PublishError(f"base branch {base!r} not found in {client.repo_full_name}", status=404,
                           operation="read base branch")
    with _api(client, "list pull requests", write=False):
        pull = _find_open_pull(client, branch, base)
        head_ref = _get_ref(client, branch)
    # a branch left over from a merged or closed PR starts again from base, so the PR shows only this change
    fresh = head_ref is None or (pull is None and head_ref.object.sha != base_sha)

    changes: list[tuple[str, bytes, Any]] = []  # (path, content, current ContentFile or None)
    for name, data in wanted.items():
        with _api(client, f"read {name}", write=False):
            try:
                current = client.repo.get_contents(name, ref=base_sha if fresh else branch)
            except GithubException as exc:
                if not _is_not_found(exc):
                    raise
                current = None
        if isinstance(current, list):
            raise PublishError(f"{name} is a directory in {client.repo_full_name}", operation=f"read {name}")
        try:
            unchanged = current is not None and current.decoded_content == data
        except (AssertionError, ValueError):  # files over 1 MB come without content
            unchanged = False
        if not unchanged:
            changes.append((name, data, current))
    if not changes and pull is None:
        log.info("%s already has this content: no pull request needed", base)
        return None

    if head_ref is None:
        with _api(client, f"create branch {branch}", write=True, what="branches", permission=perm):
            client.repo.create_git_ref(ref=f"refs/heads/{branch}", sha=base_sha)
    elif fresh:
        with _api(client, f"reset branch {branch}", write=True, what="branches", permission=perm):
            head_ref.edit(sha=base_sha, force=True)
    for name, data, current in changes:
        with _api(client, f"write {name}", write=True, what="repository contents", permission=perm):
            if current is None:
                client.repo.create_file(name, message, data, branch=branch)
            else:
                client.repo.update_file(name, message, data, current.sha, branch=branch)

    what = "pull requests"
    if pull is not None:
        if pull.title != title or (pull.body or "") != body:
            with _api(client, "update the pull request", write=True, what=what, permission="pull-requests"):
                pull.edit(title=title, body=body)
        return pull.html_url
    try:
        with _api(client, "open the pull request", write=True, what=what, permission="pull-requests"):
            pull = client.repo.create_pull(base=base, head=branch, title=title, body=body)
    except PublishError as exc:
        if exc.status != 422:
            raise
        # opened concurrently by another job: reuse it
        with _api(client, "list pull requests", write=False):
            pull = _find_open_pull(client, branch, base)
        if pull is None:
            raise
        with _api(client, "update the pull request", write=True, what=what, permission="pull-requests"):
            pull.edit(title=title, body=body)
    return pull.html_url


# --------------------------------------------------------------------------------------------------
# repository and pull request


def default_branch(client: GitHubClient) -> str:
    """The repository's default branch (the base of baseline pull requests unless one is given)."""
    with _api(client, "GET repository", write=False):
        return str(client.repo.default_branch)


def pull_request_head_sha(client: GitHubClient, number: int) -> str:
    """The commit pull request ``number`` is at now, from ``GET /repos/{repo}/pulls/{n}``.

    PublishError when GitHub cannot tell; its ``status`` is 404 when there is no such pull request."""
    import requests
    from github import GithubException

    try:
        return client.repo.get_pull(int(number)).head.sha
    except GithubException as exc:
        status = getattr(exc, "status", None)
        raise PublishError(f"could not read pull request #{number} (HTTP {status})", status=status,
                           operation="get the pull request") from None
    except requests.exceptions.RequestException as exc:
        raise PublishError(f"GitHub API unreachable at {client.api_url} ({exc.__class__.__name__})",
                           operation="get the pull request") from None


__all__ = [
    "ACTIONS_BOT_LOGIN", "ANNOTATIONS_PER_REQUEST", "Annotation", "CHECK_RUN_TEXT_LIMIT", "COMMENT_BODY_LIMIT",
    "GitHubClient", "PublishError", "READ_ONLY_NOTICE", "connect", "default_branch", "identity",
    "is_sticky_comment", "open_or_update_pull_request", "publish_check_run", "pull_request_head_sha", "sticky_marker", "truncate",
    "upsert_sticky_comment",
]
