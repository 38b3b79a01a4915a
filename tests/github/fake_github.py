"""A small stateful fake of the GitHub REST API: a real HTTP server on 127.0.0.1.

Prism (see conftest.py) checks request shapes against GitHub's OpenAPI description but is stateless,
so it cannot tell whether a second `upsert_sticky_comment` edits the first comment or adds another.
This fake keeps check runs, issue comments, git refs, files and pull requests in memory, for one
repository, so find-and-edit logic can be tested end to end through PyGithub.

It stays honest in two ways:

* routing comes from the trimmed OpenAPI description (`openapi.github.trimmed.json`): a request
  for an operation that is not in it is answered 404 and recorded as a violation;
* the JSON body and the query and path parameters of every request are validated (jsonschema) against
  that operation's schemas; an invalid request is answered 422, like GitHub and Prism do, and
  recorded in `violations`. Responses start from the description's own example for the operation
  with our state laid over it, and are validated against the response schema too
  (`response_violations`).

Tokens decide identity and permissions, as on github.com:

* `FakeGitHub.add_token(token, login, app=True)`: an installation token (the Actions GITHUB_TOKEN is
  one). `GET /user` answers 403 "Resource not accessible by integration"; comments are authored by
  `login` (e.g. ``github-actions[bot]``); check runs belong to the app ``login`` minus ``[bot]``.
* `add_token(token, login, app=False)`: a personal access token. `GET /user` works; creating a check
  run answers 403 (only GitHub Apps may).
* `write=False`: a read-only token (a pull request from a fork): every write answers 403.

Use::

    with FakeGitHub() as fake:
        fake.add_token("ghs_x", "github-actions[bot]")
        pr = fake.add_pull_request("feature", title="Change")
        ...   # fake.url is the API base URL; fake.requests lists what was called
"""
from __future__ import annotations

import base64
import copy
import functools
import hashlib
import itertools
import json
import re
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

try:
    from .trim_openapi import to_jsonschema
except ImportError:  # imported as a top-level module (tests/github on sys.path)
    from trim_openapi import to_jsonschema  # type: ignore[no-redef]

SPEC_PATH = Path(__file__).with_name("openapi.github.trimmed.json")
PLACEHOLDER_BASE = "http://127.0.0.1:4010"
SPEC_URI = "urn:asr-gate:github-openapi"
METHODS = ("get", "put", "post", "delete", "patch")
NOT_ACCESSIBLE = "Resource not accessible by integration"
DOCS = "https://docs.github.com/rest"
_DATE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


# --------------------------------------------------------------------------------------------------
# the description: routing and validation


_format_checker = jsonschema.FormatChecker(formats=())


@_format_checker.checks("date-time")
def _is_date_time(value: Any) -> bool:
    return not isinstance(value, str) or bool(_DATE_TIME.match(value))


@dataclass
class Operation:
    method: str
    template: str
    operation_id: str
    regex: re.Pattern[str]
    spec: dict[str, Any]
    spec_pointer: str  # JSON pointer of the operation in the description


class Description:
    """The trimmed OpenAPI description: find operations, validate requests and responses."""

    def __init__(self, path: Path = SPEC_PATH):
        self.doc = json.loads(path.read_text(encoding="utf-8"))
        self.schema_doc = to_jsonschema(self.doc, SPEC_URI)
        self.registry = Registry().with_resource(SPEC_URI, Resource.from_contents(self.schema_doc, DRAFT4))
        self.operations: list[Operation] = []
        self._validators: dict[str, jsonschema.protocols.Validator] = {}
        for template, item in self.doc["paths"].items():
            if "x-asr-gate-alias-of" in item:
                continue  # aliases exist for Prism's router; this fake matches multi-segment params itself
            for method in METHODS:
                if method in item:
                    op = item[method]
                    multi = {p["name"] for p in self.parameters(op) if p.get("x-multi-segment")}
                    pattern = re.sub(
                        r"\{([^}]+)\}",
                        lambda m, multi=multi: f"(?P<{m.group(1)}>{'.+' if m.group(1) in multi else '[^/]+'})",
                        re.escape(template).replace(r"\{", "{").replace(r"\}", "}"),
                    )
                    pointer = "#/paths/" + template.replace("~", "~0").replace("/", "~1") + "/" + method
                    self.operations.append(Operation(method.upper(), template, op["operationId"],
                                                     re.compile(f"^{pattern}$"), op, pointer))
        # literal segments first, so /issues/comments/{id} wins over /issues/{number}/...
        self.operations.sort(key=lambda o: -len(re.sub(r"\{[^}]+\}", "", o.template)))

    def resolve(self, node: Any) -> Any:
        while isinstance(node, dict) and "$ref" in node:
            target: Any = self.doc
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
        return node

    def parameters(self, op: dict[str, Any]) -> list[dict[str, Any]]:
        return [self.resolve(p) for p in op.get("parameters", [])]

    def match(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        for op in self.operations:
            if op.method == method:
                m = op.regex.match(path)
                if m:
                    return op, {k: urllib.parse.unquote(v) for k, v in m.groupdict().items()}
        return None

    def _validate(self, schema_ref: str, instance: Any) -> list[str]:
        validator = self._validators.get(schema_ref)
        if validator is None:
            validator = self._validators[schema_ref] = jsonschema.Draft4Validator(
                {"$ref": schema_ref}, registry=self.registry, format_checker=_format_checker)
        errors = []
        for err in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path)):
            where = "/".join(str(p) for p in err.absolute_path) or "(root)"
            errors.append(f"{where}: {err.message[:300]}")
        return errors

    def validate_request(self, op: Operation, path_params: dict[str, str], query: dict[str, list[str]],
                         body: Any, has_body: bool) -> list[str]:
        errors: list[str] = []
        params = self.parameters(op.spec)
        known = {(p["in"], p["name"]) for p in params}
        for p in params:
            if p["in"] == "path":
                value: Any = path_params.get(p["name"])
            elif p["in"] == "query":
                if p["name"] not in query:
                    if p.get("required"):
                        errors.append(f"query parameter {p['name']} is required")
                    continue
                value = query[p["name"]][-1]
            else:
                continue
            schema = to_jsonschema(p.get("schema", {}), SPEC_URI)
            value = _coerce(value, schema)
            for e in self._validate_inline(schema, value):
                errors.append(f"{p['in']} parameter {p['name']}: {e}")
        for name in query:
            if ("query", name) not in known:
                errors.append(f"unknown query parameter {name!r}")
        rb = self.resolve(op.spec.get("requestBody")) if op.spec.get("requestBody") else None
        if rb is None:
            if has_body and body not in (None, {}, ""):
                errors.append("this operation takes no request body")
        elif not has_body:
            if rb.get("required"):
                errors.append("request body is required")
        else:
            media = "application/json"
            if media not in rb.get("content", {}):
                errors.append("request body media type not in description")
            else:
                pointer = op.spec_pointer + "/requestBody/content/application~1json/schema"
                if "$ref" in op.spec["requestBody"]:
                    ref = op.spec["requestBody"]["$ref"]
                    pointer = ref + "/content/application~1json/schema"
                errors += [f"body {e}" for e in self._validate(SPEC_URI + pointer, body)]
        return errors

    def _validate_inline(self, schema: dict[str, Any], value: Any) -> list[str]:
        validator = jsonschema.Draft4Validator(schema, registry=self.registry, format_checker=_format_checker)
        return [e.message[:300] for e in validator.iter_errors(value)]

    def validate_response(self, op: Operation, status: int, body: Any) -> list[str]:
        responses = op.spec.get("responses", {})
        if str(status) not in responses:
            return [f"status {status} is not documented for {op.operation_id}"] if status < 400 else []
        resp = self.resolve(responses[str(status)])
        content = resp.get("content", {}).get("application/json")
        if content is None or "schema" not in content:
            return []
        # the schema pointer inside the (possibly referenced) response object
        raw = responses[str(status)]
        if "$ref" in raw:
            pointer = raw["$ref"] + "/content/application~1json/schema"
        else:
            pointer = f"{op.spec_pointer}/responses/{status}/content/application~1json/schema"
        return self._validate(SPEC_URI + pointer, body)

    def example(self, op_id: str, status: int) -> Any:
        for op in self.operations:
            if op.operation_id == op_id:
                resp = self.resolve(op.spec["responses"][str(status)])
                content = resp["content"]["application/json"]
                if "examples" in content:
                    first = next(iter(content["examples"].values()))
                    return copy.deepcopy(self.resolve(first)["value"])
                return copy.deepcopy(content["example"])
        raise KeyError(op_id)


@functools.lru_cache(maxsize=1)
def shared_description() -> Description:
    """The trimmed description, parsed once per process (it is read-only)."""
    return Description()


def _coerce(value: Any, schema: dict[str, Any]) -> Any:
    types = schema.get("type")
    types = types if isinstance(types, list) else [types]
    if isinstance(value, str):
        if "integer" in types and re.fullmatch(r"-?\d+", value):
            return int(value)
        if "number" in types and re.fullmatch(r"-?\d+(\.\d+)?", value):
            return float(value)
        if "boolean" in types and value in ("true", "false"):
            return value == "true"
    return value


# --------------------------------------------------------------------------------------------------
# state


@dataclass
class Identity:
    login: str
    app: bool = True
    write: bool = True
    id: int = 0


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    operation_id: str | None
    body: Any
    status: int = 0
    login: str | None = None


@dataclass
class CheckRun:
    id: int
    name: str
    head_sha: str
    app_slug: str
    external_id: str = ""
    status: str = "queued"
    conclusion: str | None = None
    details_url: str | None = None
    started_at: str | None = None
    completed_at: str | None = None
    output: dict[str, Any] = field(default_factory=dict)
    annotations: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Comment:
    id: int
    issue: int
    login: str
    body: str
    created_at: str
    updated_at: str
    edits: int = 0


@dataclass
class PullRequest:
    number: int
    id: int
    head: str
    base: str
    title: str
    body: str | None
    login: str
    state: str = "open"
    edits: int = 0


class ApiError(Exception):
    def __init__(self, status: int, message: str, errors: list[Any] | None = None):
        super().__init__(message)
        self.status = status
        self.payload: dict[str, Any] = {"message": message, "documentation_url": DOCS, "status": str(status)}
        if errors:
            self.payload["errors"] = errors


def _blob_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class FakeGitHub:
    """See the module docstring. Thread-safe; `url` is the API base URL once started."""

    def __init__(self, owner: str = "octo-org", repo: str = "widgets", default_branch: str = "main",
                 *, description: Description | None = None, per_page_default: int = 30):
        self.description = description or shared_description()
        self.owner, self.repo, self.default_branch = owner, repo, default_branch
        self.per_page_default = per_page_default
        self.lock = threading.RLock()
        self.tokens: dict[str, Identity] = {}
        self.requests: list[Recorded] = []
        self.violations: list[str] = []
        self.response_violations: list[str] = []
        self._ids = itertools.count(1001)
        self._numbers = itertools.count(1)
        self._clock = itertools.count(0)
        self.check_runs: list[CheckRun] = []
        self.comments: list[Comment] = []
        self.pulls: dict[int, PullRequest] = {}
        self.commits: dict[str, dict[str, bytes]] = {}
        self.refs: dict[str, str] = {}
        root = self._commit({"README.md": b"# widgets\n"}, "initial")
        self.refs[f"heads/{default_branch}"] = root
        self.server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    # ---------------------------------------------------------------- set-up helpers for tests

    def add_token(self, token: str, login: str, *, app: bool = True, write: bool = True) -> Identity:
        ident = Identity(login=login, app=app, write=write, id=next(self._ids))
        self.tokens[token] = ident
        return ident

    def add_branch(self, name: str, files: dict[str, bytes] | None = None, *, from_branch: str | None = None) -> str:
        base = self.commits[self.refs[f"heads/{from_branch or self.default_branch}"]]
        snapshot = dict(base)
        snapshot.update(files or {})
        sha = self._commit(snapshot, f"branch {name}")
        self.refs[f"heads/{name}"] = sha
        return sha

    def commit_files(self, branch: str, files: dict[str, bytes], message: str = "commit") -> str:
        """Commit files on top of an existing branch (as a push would); returns the new SHA."""
        snapshot = {**self.commits[self.refs[f"heads/{branch}"]], **files}
        sha = self._commit(snapshot, message)
        self.refs[f"heads/{branch}"] = sha
        return sha

    def add_commit(self, sha: str, branch: str | None = None) -> None:
        """Make a commit with a given SHA exist (e.g. the head SHA of a webhook example payload)."""
        self.commits[sha] = dict(self.commits[self.refs[f"heads/{branch or self.default_branch}"]])

    def add_pull_request(self, head: str, *, base: str | None = None, title: str = "A change",
                         login: str = "octocat", body: str | None = None, state: str = "open") -> PullRequest:
        if f"heads/{head}" not in self.refs:
            self.add_branch(head, {f"{head}.txt": b"change\n"})
        pr = PullRequest(number=next(self._numbers), id=next(self._ids), head=head,
                         base=base or self.default_branch, title=title, body=body, login=login, state=state)
        self.pulls[pr.number] = pr
        return pr

    def add_comment(self, issue: int, login: str, body: str) -> Comment:
        ts = self._now()
        comment = Comment(id=next(self._ids), issue=issue, login=login, body=body, created_at=ts, updated_at=ts)
        self.comments.append(comment)
        return comment

    def calls(self, operation_id: str | None = None, method: str | None = None) -> list[Recorded]:
        with self.lock:
            return [r for r in self.requests if (operation_id is None or r.operation_id == operation_id)
                    and (method is None or r.method == method)]

    def files(self, branch: str) -> dict[str, bytes]:
        return dict(self.commits[self.refs[f"heads/{branch}"]])

    def open_pulls(self, head: str | None = None) -> list[PullRequest]:
        return [p for p in self.pulls.values() if p.state == "open" and (head is None or p.head == head)]

    # ---------------------------------------------------------------- server

    def start(self) -> "FakeGitHub":
        fake = self

        class Handler(_Handler):
            owner = fake

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), name="fake-github", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def __enter__(self) -> "FakeGitHub":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # ---------------------------------------------------------------- internals

    def _now(self) -> str:
        tick = next(self._clock)
        return f"2030-01-01T{tick // 3600 % 24:02d}:{tick // 60 % 60:02d}:{tick % 60:02d}Z"

    def _commit(self, files: dict[str, bytes], message: str) -> str:
        sha = hashlib.sha1(f"{message}:{len(self.commits)}:{sorted(files)}".encode()).hexdigest()
        self.commits[sha] = dict(files)
        return sha

    @property
    def _repo_url(self) -> str:
        return f"{self.url}/repos/{self.owner}/{self.repo}"

    def _example(self, op_id: str, status: int) -> Any:
        text = json.dumps(self.description.example(op_id, status))
        return json.loads(text.replace(PLACEHOLDER_BASE, self.url))

    def _user(self, login: str) -> dict[str, Any]:
        ident = next((i for i in self.tokens.values() if i.login == login), None)
        user = self._example("issues/list-comments", 200)[0]["user"]
        quoted = urllib.parse.quote(login)
        for key, value in list(user.items()):
            if isinstance(value, str):
                user[key] = value.replace("/octocat", f"/{quoted}")
        user["login"] = login
        user["id"] = ident.id if ident else abs(hash(login)) % 10_000_000
        user["type"] = "Bot" if login.endswith("[bot]") else "User"
        return user

    def _paginate(self, items: list[Any], query: dict[str, list[str]], path: str) -> tuple[list[Any], dict[str, str]]:
        per_page = int(query.get("per_page", [self.per_page_default])[-1])
        page = int(query.get("page", ["1"])[-1])
        pages = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page: page * per_page]
        headers = {}
        if page < pages:
            def link(n: int) -> str:
                q = {k: v[-1] for k, v in query.items()}
                q.update(page=str(n), per_page=str(per_page))
                return f"<{self.url}{path}?{urllib.parse.urlencode(q)}>"
            headers["Link"] = f'{link(page + 1)}; rel="next", {link(pages)}; rel="last"'
        return chunk, headers

    # ---------------------------------------------------------------- request dispatch

    def handle(self, method: str, raw_path: str, headers: dict[str, str],
               raw_body: bytes) -> tuple[int, Any, dict[str, str]]:
        parsed = urllib.parse.urlsplit(raw_path)
        path = parsed.path
        query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
        has_body = bool(raw_body)
        body: Any = None
        record = Recorded(method, path, query, None, None)
        with self.lock:
            self.requests.append(record)
            try:
                if has_body:
                    ctype = headers.get("content-type", "")
                    if "json" not in ctype:
                        raise self._violation(record, f"request body with Content-Type {ctype!r}")
                    try:
                        body = json.loads(raw_body)
                    except ValueError:
                        raise ApiError(400, "Problems parsing JSON") from None
                record.body = body
                found = self.description.match(method, path)
                if found is None:
                    raise self._violation(record, f"{method} {path} is not an operation of the trimmed description",
                                          status=404, message="Not Found")
                op, params = found
                record.operation_id = op.operation_id
                errors = self.description.validate_request(op, params, query, body, has_body)
                if errors:
                    raise self._violation(record, f"{op.operation_id}: " + "; ".join(errors), errors=errors)
                auth = headers.get("authorization", "")
                token = auth.split(None, 1)[1].strip() if " " in auth else ""
                if not auth:
                    raise ApiError(401, "Requires authentication")
                ident = self.tokens.get(token)
                if ident is None:
                    raise ApiError(401, "Bad credentials")
                record.login = ident.login
                if (params.get("owner"), params.get("repo")) not in ((None, None), (self.owner, self.repo)):
                    raise ApiError(404, "Not Found")
                if method != "GET" and not ident.write:
                    raise ApiError(403, NOT_ACCESSIBLE)
                handler: Callable[..., tuple[int, Any, dict[str, str]]] = getattr(
                    self, "_op_" + re.sub(r"[^a-z0-9]+", "_", op.operation_id))
                status, out, extra = handler(ident=ident, params=params, query=query, body=body or {}, path=path)
                for e in self.description.validate_response(op, status, out):
                    self.response_violations.append(f"{op.operation_id} {status}: {e}")
            except ApiError as exc:
                status, out, extra = exc.status, exc.payload, {}
            record.status = status
            return status, out, extra

    def _violation(self, record: Recorded, text: str, *, status: int = 422, message: str = "Invalid request",
                   errors: list[str] | None = None) -> ApiError:
        self.violations.append(f"{record.method} {record.path}: {text}")
        return ApiError(status, message, errors or [text])

    # ---------------------------------------------------------------- operations (named after operationId)

    def _op_repos_get(self, **kw: Any):
        out = self._example("repos/get", 200)
        out.update(name=self.repo, full_name=f"{self.owner}/{self.repo}", url=self._repo_url,
                   html_url=f"https://github.com/{self.owner}/{self.repo}", default_branch=self.default_branch)
        out["owner"] = self._user(self.owner)
        return 200, out, {}

    def _op_users_get_authenticated(self, ident: Identity, **kw: Any):
        if ident.app:
            raise ApiError(403, NOT_ACCESSIBLE)
        out = self._example("users/get-authenticated", 200)
        user = self._user(ident.login)
        out.update({k: v for k, v in user.items() if k in out})
        return 200, out, {}

    # check runs

    def _check_run_json(self, run: CheckRun) -> dict[str, Any]:
        out = self._example("checks/create", 201)
        out.update(id=run.id, name=run.name, head_sha=run.head_sha, external_id=run.external_id,
                   status=run.status, conclusion=run.conclusion, details_url=run.details_url,
                   started_at=run.started_at, completed_at=run.completed_at, node_id=f"CR_{run.id}",
                   url=f"{self._repo_url}/check-runs/{run.id}",
                   html_url=f"https://github.com/{self.owner}/{self.repo}/runs/{run.id}")
        out["output"] = {
            "title": run.output.get("title"), "summary": run.output.get("summary"), "text": run.output.get("text"),
            "annotations_count": len(run.annotations),
            "annotations_url": f"{self._repo_url}/check-runs/{run.id}/annotations",
        }
        out["app"] = dict(out.get("app") or {}, slug=run.app_slug, name=run.app_slug)
        out["pull_requests"] = []
        return out

    def _find_run(self, params: dict[str, str]) -> CheckRun:
        run_id = int(params["check_run_id"])
        for run in self.check_runs:
            if run.id == run_id:
                return run
        raise ApiError(404, "Not Found")

    def _apply_run(self, run: CheckRun, body: dict[str, Any]) -> None:
        for key in ("name", "external_id", "details_url", "started_at", "completed_at", "status", "conclusion"):
            if key in body:
                setattr(run, key, body[key])
        if body.get("conclusion"):
            run.status = "completed"
        if run.status == "completed" and run.conclusion is None:
            raise ApiError(422, "Invalid request.", ["conclusion is required when status is completed"])
        output = body.get("output")
        if output:
            for key in ("title", "summary", "text"):
                if key in output:
                    run.output[key] = output[key]
            run.annotations.extend(output.get("annotations", []))

    def _op_checks_create(self, ident: Identity, body: dict[str, Any], **kw: Any):
        if not ident.app:
            raise ApiError(403, "You must authenticate via a GitHub App.")
        if body["head_sha"] not in self.commits:
            raise ApiError(422, "No commit found for SHA: " + body["head_sha"])
        run = CheckRun(id=next(self._ids), name=body["name"], head_sha=body["head_sha"],
                       app_slug=ident.login.removesuffix("[bot]"), started_at=self._now())
        self._apply_run(run, body)
        self.check_runs.append(run)
        return 201, self._check_run_json(run), {}

    def _op_checks_update(self, ident: Identity, params: dict[str, str], body: dict[str, Any], **kw: Any):
        run = self._find_run(params)
        if run.app_slug != ident.login.removesuffix("[bot]"):
            raise ApiError(403, "Invalid app_id `%s` - check run can only be modified by the GitHub App that "
                                "created it." % ident.login)
        self._apply_run(run, body)
        return 200, self._check_run_json(run), {}

    def _op_checks_list_for_ref(self, params: dict[str, str], query: dict[str, list[str]], path: str, **kw: Any):
        ref = params["ref"]
        sha = self.refs.get(f"heads/{ref}", ref)
        runs = [r for r in reversed(self.check_runs) if r.head_sha == sha
                and ("check_name" not in query or r.name == query["check_name"][-1])]
        chunk, headers = self._paginate(runs, query, path)
        return 200, {"total_count": len(runs), "check_runs": [self._check_run_json(r) for r in chunk]}, headers

    # issues and comments

    def _pull(self, number: int | str) -> PullRequest:
        pr = self.pulls.get(int(number))
        if pr is None:
            raise ApiError(404, "Not Found")
        return pr

    def _comment_json(self, c: Comment) -> dict[str, Any]:
        out = self._example("issues/create-comment", 201)
        out.update(id=c.id, node_id=f"IC_{c.id}", body=c.body, created_at=c.created_at, updated_at=c.updated_at,
                   url=f"{self._repo_url}/issues/comments/{c.id}",
                   html_url=f"https://github.com/{self.owner}/{self.repo}/pull/{c.issue}#issuecomment-{c.id}",
                   issue_url=f"{self._repo_url}/issues/{c.issue}", user=self._user(c.login))
        return out

    def _op_issues_get(self, params: dict[str, str], **kw: Any):
        pr = self._pull(params["issue_number"])
        out = self._example("issues/get", 200)
        out.update(number=pr.number, id=pr.id, title=pr.title, body=pr.body, state=pr.state,
                   url=f"{self._repo_url}/issues/{pr.number}", user=self._user(pr.login),
                   comments_url=f"{self._repo_url}/issues/{pr.number}/comments",
                   html_url=f"https://github.com/{self.owner}/{self.repo}/pull/{pr.number}",
                   comments=sum(1 for c in self.comments if c.issue == pr.number))
        out["pull_request"] = {"url": f"{self._repo_url}/pulls/{pr.number}", "html_url": out["html_url"],
                               "diff_url": out["html_url"] + ".diff", "patch_url": out["html_url"] + ".patch"}
        return 200, out, {}

    def _op_issues_list_comments(self, params: dict[str, str], query: dict[str, list[str]], path: str, **kw: Any):
        pr = self._pull(params["issue_number"])
        items = [c for c in self.comments if c.issue == pr.number]
        chunk, headers = self._paginate(items, query, path)
        return 200, [self._comment_json(c) for c in chunk], headers

    def _op_issues_create_comment(self, ident: Identity, params: dict[str, str], body: dict[str, Any], **kw: Any):
        pr = self._pull(params["issue_number"])
        if len(body["body"]) > 65536:
            raise ApiError(422, "Validation Failed", [{
                "resource": "IssueComment", "code": "unprocessable", "field": "data",
                "message": "Body is too long (maximum is 65536 characters)"}])
        comment = self.add_comment(pr.number, ident.login, body["body"])
        return 201, self._comment_json(comment), {}

    def _op_issues_update_comment(self, ident: Identity, params: dict[str, str], body: dict[str, Any], **kw: Any):
        comment = next((c for c in self.comments if c.id == int(params["comment_id"])), None)
        if comment is None:
            raise ApiError(404, "Not Found")
        if len(body["body"]) > 65536:
            raise ApiError(422, "Validation Failed", ["Body is too long (maximum is 65536 characters)"])
        comment.body = body["body"]
        comment.updated_at = self._now()
        comment.edits += 1
        return 200, self._comment_json(comment), {}

    # pull requests

    def _pull_json(self, pr: PullRequest, op_id: str, status: int) -> dict[str, Any]:
        example = self._example(op_id, status)
        out = example[0] if isinstance(example, list) else example
        html = f"https://github.com/{self.owner}/{self.repo}/pull/{pr.number}"
        out.update(number=pr.number, id=pr.id, node_id=f"PR_{pr.id}", title=pr.title, body=pr.body, state=pr.state,
                   url=f"{self._repo_url}/pulls/{pr.number}", html_url=html, diff_url=html + ".diff",
                   patch_url=html + ".patch", issue_url=f"{self._repo_url}/issues/{pr.number}",
                   comments_url=f"{self._repo_url}/issues/{pr.number}/comments",
                   commits_url=f"{self._repo_url}/pulls/{pr.number}/commits",
                   review_comments_url=f"{self._repo_url}/pulls/{pr.number}/comments",
                   statuses_url=f"{self._repo_url}/statuses/{self.refs.get('heads/' + pr.head, '0' * 40)}",
                   user=self._user(pr.login))
        if "merged" in out:
            out["merged"] = False
        # GitHub's own example lists a team without the required `type`: keep reviewers empty
        out.update(requested_reviewers=[], requested_teams=[], assignees=[], labels=[])
        for side, ref in (("head", pr.head), ("base", pr.base)):
            part = out[side]
            part.update(ref=ref, label=f"{self.owner}:{ref}", sha=self.refs.get(f"heads/{ref}", "0" * 40))
            part["user"] = self._user(self.owner)
            if isinstance(part.get("repo"), dict):
                part["repo"].update(name=self.repo, full_name=f"{self.owner}/{self.repo}", url=self._repo_url)
        return out

    def _op_pulls_get(self, params: dict[str, str], **kw: Any):
        return 200, self._pull_json(self._pull(params["pull_number"]), "pulls/get", 200), {}

    def _op_pulls_list(self, query: dict[str, list[str]], path: str, **kw: Any):
        state = query.get("state", ["open"])[-1]
        head = query.get("head", [None])[-1]
        base = query.get("base", [None])[-1]
        items = []
        for pr in sorted(self.pulls.values(), key=lambda p: -p.number):
            if state != "all" and pr.state != state:
                continue
            if head is not None and head != f"{self.owner}:{pr.head}":
                continue
            if base is not None and base != pr.base:
                continue
            items.append(pr)
        chunk, headers = self._paginate(items, query, path)
        return 200, [self._pull_json(p, "pulls/list", 200) for p in chunk], headers

    def _op_pulls_create(self, ident: Identity, body: dict[str, Any], **kw: Any):
        head = body["head"].split(":", 1)[-1]
        base = body["base"]
        errors = []
        if f"heads/{head}" not in self.refs:
            errors.append({"resource": "PullRequest", "code": "invalid", "field": "head"})
        if f"heads/{base}" not in self.refs:
            errors.append({"resource": "PullRequest", "code": "invalid", "field": "base"})
        if errors:
            raise ApiError(422, "Validation Failed", errors)
        if any(p.head == head and p.base == base for p in self.open_pulls()):
            raise ApiError(422, "Validation Failed", [{
                "resource": "PullRequest", "code": "custom",
                "message": f"A pull request already exists for {self.owner}:{head}."}])
        if self.refs[f"heads/{head}"] == self.refs[f"heads/{base}"]:
            raise ApiError(422, "Validation Failed", [{"resource": "PullRequest", "code": "custom",
                                                       "message": f"No commits between {base} and {head}"}])
        pr = PullRequest(number=next(self._numbers), id=next(self._ids), head=head, base=base,
                         title=body.get("title", ""), body=body.get("body"), login=ident.login)
        self.pulls[pr.number] = pr
        return 201, self._pull_json(pr, "pulls/create", 201), {}

    def _op_pulls_update(self, params: dict[str, str], body: dict[str, Any], **kw: Any):
        pr = self._pull(params["pull_number"])
        for key in ("title", "body", "state", "base"):
            if key in body:
                setattr(pr, key, body[key])
        pr.edits += 1
        return 200, self._pull_json(pr, "pulls/update", 200), {}

    # git refs and contents

    def _ref_json(self, ref: str) -> dict[str, Any]:
        sha = self.refs[ref]
        return {"ref": f"refs/{ref}", "node_id": "REF_" + hashlib.sha1(ref.encode()).hexdigest()[:12],
                "url": f"{self._repo_url}/git/refs/{ref}",
                "object": {"type": "commit", "sha": sha, "url": f"{self._repo_url}/git/commits/{sha}"}}

    def _op_git_get_ref(self, params: dict[str, str], **kw: Any):
        ref = params["ref"]
        if ref not in self.refs:
            raise ApiError(404, "Not Found")
        return 200, self._ref_json(ref), {}

    def _op_git_create_ref(self, body: dict[str, Any], **kw: Any):
        ref = body["ref"]
        if not ref.startswith("refs/") or ref.count("/") < 2:
            raise ApiError(422, "Reference name must start with 'refs/' and have at least two slashes.")
        short = ref[len("refs/"):]
        if short in self.refs:
            raise ApiError(422, "Reference already exists")
        if body["sha"] not in self.commits:
            raise ApiError(422, "Object does not exist")
        self.refs[short] = body["sha"]
        return 201, self._ref_json(short), {}

    def _op_git_update_ref(self, params: dict[str, str], body: dict[str, Any], **kw: Any):
        ref = params["ref"]
        if ref not in self.refs:
            raise ApiError(422, "Reference does not exist")
        if body["sha"] not in self.commits:
            raise ApiError(422, "Object does not exist")
        if not body.get("force") and body["sha"] != self.refs[ref]:
            raise ApiError(422, "Update is not a fast forward")  # our fake keeps no ancestry
        self.refs[ref] = body["sha"]
        return 200, self._ref_json(ref), {}

    def _content_json(self, path: str, data: bytes, ref: str) -> dict[str, Any]:
        sha = _blob_sha(data)
        quoted = urllib.parse.quote(path)
        self_url = f"{self._repo_url}/contents/{quoted}?ref={urllib.parse.quote(ref)}"
        html = f"https://github.com/{self.owner}/{self.repo}/blob/{ref}/{quoted}"
        git = f"{self._repo_url}/git/blobs/{sha}"
        return {"type": "file", "encoding": "base64", "size": len(data), "name": path.rsplit("/", 1)[-1],
                "path": path, "content": base64.encodebytes(data).decode(), "sha": sha, "url": self_url,
                "git_url": git, "html_url": html,
                "download_url": f"https://raw.githubusercontent.com/{self.owner}/{self.repo}/{ref}/{quoted}",
                "_links": {"self": self_url, "git": git, "html": html}}

    def _resolve_ref(self, ref: str | None) -> tuple[str, dict[str, bytes]]:
        ref = ref or self.default_branch
        sha = self.refs.get(f"heads/{ref}", ref)
        if sha not in self.commits:
            raise ApiError(404, f"No commit found for the ref {ref}")
        return ref, self.commits[sha]

    def _op_repos_get_content(self, params: dict[str, str], query: dict[str, list[str]], **kw: Any):
        ref, files = self._resolve_ref(query.get("ref", [None])[-1])
        path = params["path"].strip("/")
        if path in files:
            return 200, self._content_json(path, files[path], ref), {}
        if any(f.startswith(path + "/") for f in files):
            return 200, [self._content_json(f, files[f], ref) for f in sorted(files) if f.startswith(path + "/")
                         and "/" not in f[len(path) + 1:]], {}
        raise ApiError(404, "Not Found")

    def _op_repos_create_or_update_file_contents(self, params: dict[str, str], body: dict[str, Any], **kw: Any):
        branch = body.get("branch") or self.default_branch
        if f"heads/{branch}" not in self.refs:
            raise ApiError(404, f"Branch {branch} not found")
        files = dict(self.commits[self.refs[f"heads/{branch}"]])
        path = params["path"].strip("/")
        try:
            data = base64.b64decode(body["content"], validate=True)
        except ValueError:
            raise ApiError(422, "content is not valid Base64") from None
        if path in files:
            if "sha" not in body:
                raise ApiError(422, "Invalid request.\n\n\"sha\" wasn't supplied.")
            if body["sha"] != _blob_sha(files[path]):
                raise ApiError(409, f"{path} does not match {body['sha']}")
            status = 200
        else:
            status = 201
        files[path] = data
        sha = self._commit(files, body["message"])
        self.refs[f"heads/{branch}"] = sha
        out = self._example("repos/create-or-update-file-contents", status)
        content = self._content_json(path, data, branch)
        content.pop("encoding")
        content.pop("content")
        out["content"] = content
        out["commit"].update(sha=sha, url=f"{self._repo_url}/git/commits/{sha}", message=body["message"],
                             node_id=f"C_{sha[:12]}",
                             html_url=f"https://github.com/{self.owner}/{self.repo}/commit/{sha}")
        return status, out, {}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: avoid the delayed-ACK stall
    owner: FakeGitHub  # set by FakeGitHub.start

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, out, extra = self.owner.handle(self.command, self.path, headers, raw)
        payload = b"" if out is None else json.dumps(out).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("X-GitHub-Media-Type", "github.v3; format=json")
        for k, v in extra.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve
