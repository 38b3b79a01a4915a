"""kind: http — any JSON-over-HTTP endpoint; also the HTTP plumbing shared with kind: openai.

    kind: http
    url: https://chat.example.com/api/generate
    headers: {Authorization: "Bearer ${CHAT_TOKEN}"}
    body: {input: "{{prompt}}", history: "{{messages}}", options: {temperature: 0}}
    reply_path: output.text
    tokens: {prompt: usage.input_tokens, completion: usage.output_tokens}

The body template is substituted on the parsed structure (never by pasting text into JSON), so a
prompt full of quotes and braces cannot break the request. Without `reply_path` the whole response
body is the reply text.

Plumbing (`HttpTargetBase`): one `requests.Session` per target with a connection pool sized to
`concurrency` and no automatic retries (the runner retries); the session resolves proxies, CA
bundle and credentials once per URL and calls go straight to its urllib3 pool (the per-call
overhead of `Session.request` was the largest CPU cost of a run); cookies are never kept, so attempts
cannot influence each other through a server-side session; redirects are not followed. The body
is streamed and cut at `max_reply_bytes` (never held whole), and `timeout` bounds the whole call,
including a server that trickles bytes. Failures become `TargetError`s: 429/503 retryable with
`Retry-After` (delta-seconds, HTTP-date or `retry-after-ms`), 408 and other 5xx retryable, other
4xx not (401/403 say to check the key without printing it), timeouts (`timeout`) and resets
(`connection`) retryable, unparsable bodies `bad_response` (retryable: usually transient).
"""
from __future__ import annotations

import email.utils
import http.cookiejar
import json
import socket
import threading
import time
from datetime import timezone
from typing import Any, Mapping, NamedTuple, Sequence

import requests
from requests.adapters import HTTPAdapter
from urllib3 import Timeout as Urllib3Timeout
from urllib3.exceptions import ClosedPoolError as _ClosedPoolError
from urllib3.exceptions import DecodeError as _DecodeError
from urllib3.exceptions import HTTPError as _Urllib3Error
from urllib3.exceptions import NewConnectionError as _NewConnectionError
from urllib3.exceptions import ProtocolError as _ProtocolError
from urllib3.exceptions import ProxyError as _ProxyError
from urllib3.exceptions import ReadTimeoutError as _ReadTimeoutError
from urllib3.exceptions import SSLError as _SSLError
from urllib3.exceptions import TimeoutError as _Urllib3TimeoutError

from .. import __version__
from .interface import BaseTarget, Message, Reply, Request, TargetError
from .lean_http import Broken, Short, read_response, request_bytes, request_head
from .partial_json import parse_partial_json
from .reply_path import PathMissing, ReplyPath, reply_text_from, token_count
from .text import EXCERPT_CHARS, decode_text, excerpt, one_line, redact_url

#: bytes of an error response read to build the message (the rest is discarded unread)
ERROR_BODY_BYTES = 4096
#: read granularity of the streamed body
CHUNK_BYTES = 64 * 1024


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` value: delta-seconds (`120`) or an HTTP-date
    (`Wed, 21 Oct 2015 07:28:00 GMT`); a date in the past gives 0. None when absent or invalid."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if seconds >= 0 and seconds == seconds and seconds != float("inf") else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:  # obsolete forms without a zone are GMT by RFC 9110
        when = when.replace(tzinfo=timezone.utc)
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def retry_after_from(headers: Mapping[str, str]) -> float | None:
    """The server's requested delay: `retry-after-ms` (OpenAI, Azure) first, then `Retry-After`."""
    ms = headers.get("retry-after-ms")
    if ms is not None:
        try:
            value = float(ms) / 1000.0
            if 0 <= value < float("inf"):
                return value
        except ValueError:
            pass
    return parse_retry_after(headers.get("retry-after"))


class _Route:
    """How calls to one URL are sent, resolved once: the urllib3 pool, request path and headers, and
    for a direct connection (no proxy) the request head up to its Content-Length value (`head`)."""

    __slots__ = ("pool", "path", "headers", "src", "head")

    def __init__(self, pool: Any, path: str, headers: dict[str, str], src: Any, head: bytes | None = None):
        self.pool = pool
        self.path = path
        self.headers = headers
        self.src = src
        self.head = head


class Call(NamedTuple):
    """One call of a kind, before it is sent: where, what, with which headers, and the URL shown in messages."""

    url: str
    body: Any
    headers: Mapping[str, str]
    shown_url: str


class HttpTargetBase(BaseTarget):
    """A target that POSTs JSON over a pooled session and reads a bounded, deadline-bound reply.

    The `requests.Session` decides everything that depends on the environment and the URL once per
    URL (proxies from HTTP(S)_PROXY/NO_PROXY, the CA bundle from REQUESTS_CA_BUNDLE or certifi,
    credentials from the URL or ~/.netrc, default headers), and each call then goes straight to
    the urllib3 connection pool of the session's adapter. Going through `Session.request` per call
    re-reads the whole environment twice and re-merges every setting: ~0.3 ms of CPU per call,
    more than everything else asr-gate does for an attempt.
    """

    method = "POST"

    def __init__(self, config: Mapping[str, Any], **kwargs: Any):
        super().__init__(config, **kwargs)
        self._session: requests.Session | None = None
        self._routes: dict[str, _Route] = {}
        self._routes_lock = threading.Lock()
        self._timeout: Any = None
        self._pool_size = self.concurrency

    # -- session

    @property
    def session(self) -> requests.Session:
        if self._session is None:
            s = requests.Session()
            adapter = HTTPAdapter(pool_connections=self._pool_size, pool_maxsize=self._pool_size, max_retries=0)
            s.mount("http://", adapter)
            s.mount("https://", adapter)
            s.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
            s.headers["User-Agent"] = f"asr-gate/{__version__}"
            self._session = s
        return self._session

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None
        with self._routes_lock:
            self._routes.clear()

    def reserve_connections(self, n: int) -> None:
        """Let the pool keep at least `n` connections open: the runner calls this with its number of
        workers before they start (`run --concurrency` may exceed the target's `concurrency`; with a
        smaller pool, connections beyond it are closed after each call and opened again)."""
        if n > self._pool_size:
            with self._routes_lock:
                self._pool_size = int(n)
                # not closed: a call in flight on another thread (`run --baseline-target` shares a judge
                # target between two runs) finishes on the old pool, which is then garbage
                self._session = None
                self._routes = {}
            self._build_session()

    def _build_session(self) -> None:
        """Create the session now (constructors call this so the first sends do not race)."""
        _ = self.session
        url = getattr(self, "url", None)
        headers = getattr(self, "headers", None)
        if url and headers is not None:
            try:
                self._route(url, headers)
            except Exception:  # noqa: BLE001 - an unusable URL is reported by the first call, as before
                pass

    def _route(self, url: str, headers: Mapping[str, str]) -> _Route:
        route = self._routes.get(url)
        if route is not None and route.src is headers:
            return route
        with self._routes_lock:
            route = self._routes.get(url)
            if route is None or route.src is not headers:
                route = self._resolve(url, headers)
                self._routes[url] = route
        return route

    def _resolve(self, url: str, headers: Mapping[str, str]) -> _Route:
        """What `Session.request` + `HTTPAdapter.send` would do before sending, done once."""
        s = self.session
        settings = s.merge_environment_settings(url, {}, None, None, None)
        prep = s.prepare_request(requests.Request(self.method, url, data=b"", headers=dict(headers)))
        adapter = s.get_adapter(prep.url)
        proxies, verify, cert = settings.get("proxies") or {}, settings.get("verify", True), settings.get("cert")
        get = getattr(adapter, "get_connection_with_tls_context", None)
        if get is not None:
            pool = get(prep, verify, proxies=proxies, cert=cert)
        else:  # requests < 2.32.2
            pool = adapter.get_connection(prep.url, proxies)
        adapter.cert_verify(pool, prep.url, verify, cert)
        path = adapter.request_url(prep, proxies)
        merged = {k: v for k, v in prep.headers.items() if k.lower() != "content-length"}
        return _Route(pool, path, merged, headers, request_head(self.method, pool, path, merged, headers))

    def _timeout_obj(self) -> Any:
        if self._timeout is None:
            self._timeout = Urllib3Timeout(connect=self.timeout, read=self.timeout)
        return self._timeout

    # -- one call: a kind builds it (`prepare`), it is sent (`call` here, or the asyncio engine's exchange),
    # and the kind reads the reply (`finish`)

    def prepare(self, request: Request) -> Call:
        raise NotImplementedError

    def finish(self, content: bytes, truncated: bool, headers: Mapping[str, str]) -> Reply:
        raise NotImplementedError

    def deliver(self, request: Request) -> Reply:
        return self.finish(*self.call(*self.prepare(request)))

    def open_async(self) -> Any:
        from .async_http import AsyncSender  # asyncio only for the runner's asyncio engine
        return AsyncSender.open(self)

    def encode(self, body: Any) -> bytes:
        """The JSON request body (TargetError when it cannot be encoded)."""
        try:
            return json.dumps(body, allow_nan=False).encode("ascii")
        except (TypeError, ValueError) as exc:  # checked at load time; kept as a last resort
            raise self.fail(f"cannot encode the request body as JSON: {exc}", kind="request", retryable=False) from None

    def call(self, url: str, body: Any, headers: Mapping[str, str], shown_url: str) -> tuple[bytes, bool, Any]:
        """POST `body` as JSON; return (body bytes ≤ max_reply_bytes, truncated, response headers).

        Raises TargetError for every failure, with `shown_url` (never the resolved secrets) in messages.
        """
        deadline = time.monotonic() + self.timeout
        data = self.encode(body)
        try:
            route = self._route(url, headers)
            if route.head is not None:
                return self._exchange(route, data, deadline, shown_url)
            resp = route.pool.urlopen(self.method, route.path, body=data, headers=route.headers, redirect=False,
                                      assert_same_host=False, preload_content=False, decode_content=False,
                                      retries=False, timeout=self._timeout_obj())
        except _NewConnectionError as exc:  # a subclass of ConnectTimeoutError: test it first
            raise self.fail(f"cannot connect to {shown_url}: {self.reason(exc)}", kind="connection",
                            retryable=True) from None
        except (_Urllib3TimeoutError, socket.timeout, TimeoutError, requests.exceptions.Timeout):
            raise self.fail(f"no response from {shown_url} within {self.timeout:g}s", kind="timeout",
                            retryable=True) from None
        except (_SSLError, requests.exceptions.SSLError) as exc:
            raise self.fail(f"TLS error talking to {shown_url}: {self.reason(exc)}", kind="tls", retryable=False) from None
        except (_ProxyError, _ProtocolError, _ClosedPoolError, OSError, requests.exceptions.ConnectionError) as exc:
            raise self.fail(f"cannot connect to {shown_url}: {self.reason(exc)}", kind="connection",
                            retryable=True) from None
        except (_Urllib3Error, ValueError, requests.exceptions.RequestException) as exc:
            raise self.fail(f"request to {shown_url} failed: {self.reason(exc)}", kind="request", retryable=False) from None
        try:
            status = resp.status
            if not 200 <= status < 300:
                try:
                    err_body, _ = self._read(resp, deadline, ERROR_BODY_BYTES, shown_url)
                except TargetError:
                    err_body = b""
                raise self._status_error(resp, err_body, shown_url)
            content, truncated = self._read(resp, deadline, self.max_reply_bytes, shown_url)
            if not truncated:
                self._check_length(resp, len(content), shown_url)
            return content, truncated, resp.headers
        finally:
            # a reply read to the end has already gone back to the pool (keep-alive); anything else
            # closes its connection, so a half-read body is never reused
            resp.close()
            resp.release_conn()

    def _exchange(self, route: _Route, data: bytes, deadline: float, shown_url: str) -> tuple[bytes, bool, Any]:
        """One request on a pooled connection without http.client: the head and body in one send, the
        response parsed here (Content-Length, chunked or until close). urllib3 still opens the
        connection (TLS, certificates) and keeps the pool; its request/response machinery cost ~0.25 ms
        of CPU per call, half of an attempt (issue 16). Same errors as the urllib3 path. Connection
        errors raise urllib3/OS exceptions, handled by `call`."""
        pool = route.pool
        conn = pool._get_conn()
        keep = False
        try:
            conn.timeout = self.timeout
            if conn.sock is None:
                conn.connect()
            sock = conn.sock
            sock.settimeout(self.timeout)
            sock.sendall(request_bytes(route.head, data))
            try:
                resp, content, truncated, keep = read_response(sock, deadline, self.max_reply_bytes, ERROR_BODY_BYTES)
            except Broken as exc:
                raise self._broken(exc, shown_url) from None
            return self.accepted(resp, content, truncated, shown_url)
        finally:
            if keep:
                pool._put_conn(conn)
            else:
                conn.close()
                pool._put_conn(None)

    def accepted(self, resp: Any, content: bytes, truncated: bool, shown_url: str) -> tuple[bytes, bool, Any]:
        """(body, truncated, headers) of a lean exchange's 2xx response; the TargetError of any other status."""
        if not 200 <= resp.status < 300:
            raise self._status_error(resp, content, shown_url)
        return content, truncated, resp.headers

    def _broken(self, exc: Broken, shown_url: str) -> TargetError:
        if exc.phase == "head-timeout":
            return self.fail(f"no response from {shown_url} within {self.timeout:g}s", kind="timeout", retryable=True)
        if exc.phase == "deadline":
            return self.fail(f"reply from {shown_url} not complete within {self.timeout:g}s", kind="timeout",
                             retryable=True)
        if exc.phase == "body-timeout":
            return self.fail(f"reply from {shown_url} stalled for {self.timeout:g}s", kind="timeout", retryable=True)
        if exc.phase == "head":
            why = self.reason(exc.exc) if exc.exc is not None else "RemoteDisconnected: Remote end closed connection without response"
            return self.fail(f"cannot connect to {shown_url}: {why}", kind="connection", retryable=True)
        if exc.phase == "bad-head":
            return self.fail(f"request to {shown_url} failed: malformed response head", kind="request", retryable=False)
        if exc.phase == "coding":
            return self.fail(f"cannot decode the reply from {shown_url}: unexpected content coding", kind="bad_response",
                             retryable=True)
        if isinstance(exc.exc, Short):
            return self.fail(f"connection to {shown_url} closed after {exc.exc.got} of {exc.exc.expected} bytes",
                             kind="connection", retryable=True)
        why = self.reason(exc.exc) if exc.exc is not None else "connection closed"
        return self.fail(f"connection to {shown_url} broken while reading the reply: {why}", kind="connection",
                         retryable=True)

    def _read(self, resp: Any, deadline: float, limit: int, shown_url: str) -> tuple[bytes, bool]:
        read1 = getattr(resp, "read1", None)
        parts: list[bytes] = []
        size = 0
        while True:
            if time.monotonic() > deadline:
                raise self.fail(f"reply from {shown_url} not complete within {self.timeout:g}s", kind="timeout",
                                retryable=True)
            try:
                if read1 is not None:
                    chunk = read1(CHUNK_BYTES, decode_content=True)
                else:  # urllib3 < 2: small reads so the deadline is checked often
                    chunk = resp.read(8192, decode_content=True)
            except (_ReadTimeoutError, socket.timeout, TimeoutError):
                raise self.fail(f"reply from {shown_url} stalled for {self.timeout:g}s", kind="timeout",
                                retryable=True) from None
            except _DecodeError as exc:
                raise self.fail(f"cannot decode the reply from {shown_url}: {self.reason(exc)}", kind="bad_response",
                                retryable=True) from None
            except (_ProtocolError, _Urllib3Error, OSError, requests.exceptions.RequestException) as exc:
                raise self.fail(f"connection to {shown_url} broken while reading the reply: {self.reason(exc)}",
                                kind="connection", retryable=True) from None
            if not chunk:
                return (parts[0] if len(parts) == 1 else b"".join(parts)), False
            room = limit - size
            if len(chunk) > room:
                parts.append(chunk[:room])
                return b"".join(parts), True
            parts.append(chunk)
            size += len(chunk)

    def _check_length(self, resp: Any, got: int, shown_url: str) -> None:
        """A body shorter than its Content-Length means the connection broke mid-reply."""
        if resp.headers.get("content-encoding", "identity").lower() not in ("identity", ""):
            return
        try:
            expected = int(resp.headers.get("content-length", ""))
        except ValueError:
            return
        if got < expected:
            raise self.fail(f"connection to {shown_url} closed after {got} of {expected} bytes", kind="connection",
                            retryable=True)

    def _status_error(self, resp: Any, body: bytes, shown_url: str) -> TargetError:
        status = resp.status
        reason = self.excerpt(resp.reason or "", 60)
        head = f"HTTP {status}{' ' + reason if reason else ''} from {shown_url}"
        retry_after = retry_after_from(resp.headers)
        if status in (401, 403):
            return self.fail(f"{head}: the endpoint refused the credentials; {self.credentials_hint()}",
                             kind=f"http_{status}", retryable=False, status=status)
        detail = error_detail(body, self.scrub_values())
        msg = f"{head}: {detail}" if detail else head
        if 300 <= status < 400:
            location = self.excerpt(redact_url(resp.headers.get("location", "?")), 120)
            return self.fail(f"{head}: redirect to {location}; set the URL to the final address "
                             "(redirects are not followed)", kind=f"http_{status}", retryable=False, status=status)
        if status in (408, 429) or status >= 500:
            return self.fail(msg, kind=f"http_{status}", retryable=True, retry_after=retry_after, status=status)
        return self.fail(msg, kind=f"http_{status}", retryable=False, retry_after=retry_after, status=status)

    def check_json(self, value: Any, path: tuple) -> None:
        """Refuse config values JSON cannot carry (YAML dates, NaN) before the first call."""
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise self.config_error(path, f"not representable as JSON ({one_line(str(exc), 80)}); "
                                          "quote dates and other special values") from None

    def credentials_hint(self) -> str:
        names = [v for v in (self.config.get("api_key_env"),) if v]
        names += [f"headers.{h}" for h in (self.config.get("headers") or {})]
        return "check the key in " + ", ".join(names) if names else "check whether the endpoint needs a key"

    def bad_response(self, what: str, text: str | None = None, *, truncated: bool = False) -> TargetError:
        """`what` went wrong with a reply; `text` is the reply (whole: it is scrubbed before its excerpt is cut)."""
        if truncated:
            return self.fail(f"{what} within the first {self.max_reply_bytes} bytes of an over-long reply "
                             "(raise max_reply_bytes?)", kind="too_large", retryable=False)
        shown = f" (reply starts: {self.excerpt(text, 120)!r})" if text else ""
        return self.fail(f"{what}{shown}", kind="bad_response", retryable=True)

    def parse_json(self, content: bytes, truncated: bool, headers: Mapping[str, str], shown_url: str) -> Any:
        text = decode_text(content, truncated, _charset(headers))
        try:
            return parse_partial_json(text) if truncated else json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise self.bad_response(f"malformed JSON from {shown_url}: {self.excerpt(exc, 80)}", text) from None

    def reason(self, exc: BaseException) -> str:
        """`_reason`, scrubbed before it is cut (a library's message can quote a URL or a header)."""
        return _reason(exc, self.scrub_values())


def error_detail(body: bytes, secrets: Sequence[str] = ()) -> str:
    """A short, single-line description from an error body: JSON `error.message` / `message` /
    `detail` / `error`, else the text itself; at most EXCERPT_CHARS characters, cut after ``secrets``
    (longest first) were scrubbed from it (`gate.targets.text.excerpt`)."""
    if not body:
        return ""
    text = body.decode("utf-8", "replace")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return excerpt(text, EXCERPT_CHARS, secrets)
    for candidate in (_dig(data, "error", "message"), _dig(data, "message"), _dig(data, "detail"), _dig(data, "error")):
        if isinstance(candidate, str) and candidate.strip():
            return excerpt(candidate, EXCERPT_CHARS, secrets)
    return excerpt(text, EXCERPT_CHARS, secrets)


def _dig(data: Any, *keys: str) -> Any:
    for k in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(k)
    return data


def _charset(headers: Mapping[str, str]) -> str | None:
    ctype = headers.get("content-type", "")
    for part in ctype.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "charset" and value:
            return value.strip('"')
    return None


def _reason(exc: BaseException, secrets: Sequence[str] = ()) -> str:
    """The innermost cause of a requests/urllib3 error, short (urllib3 nests them deeply), without
    ``secrets``."""
    seen = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        nxt = cur.__cause__ or cur.__context__
        if nxt is None and cur.args and isinstance(cur.args[0], BaseException):
            nxt = cur.args[0]
        if nxt is None and len(cur.args) > 1 and isinstance(cur.args[1], BaseException):
            nxt = cur.args[1]
        if nxt is None:
            break
        cur = nxt
    text = type(cur).__name__
    msg = str(cur) if cur is not None else ""
    if msg:
        text += f": {msg}"
    return excerpt(text, 160, secrets)


# --------------------------------------------------------------------------------------------

PROMPT = "{{prompt}}"
MESSAGES = "{{messages}}"
DEFAULT_BODY = {"prompt": PROMPT}


def _has_messages(template: Any) -> bool:
    if isinstance(template, str):
        return template == MESSAGES
    if isinstance(template, dict):
        return any(_has_messages(v) for v in template.values())
    if isinstance(template, list):
        return any(_has_messages(v) for v in template)
    return False


def render_body(template: Any, prompt: str, messages: Sequence[Message]) -> Any:
    """Substitute placeholders in a parsed JSON template (strings only; keys are left alone)."""
    if isinstance(template, str):
        if template == MESSAGES:
            return [m.as_dict() for m in messages]
        return template.replace(PROMPT, prompt) if PROMPT in template else template
    if isinstance(template, dict):
        return {k: render_body(v, prompt, messages) for k, v in template.items()}
    if isinstance(template, list):
        return [render_body(v, prompt, messages) for v in template]
    return template


class HttpTarget(HttpTargetBase):
    kind = "http"

    def __init__(self, config: Mapping[str, Any], **kwargs: Any):
        super().__init__(config, **kwargs)
        self.url = str(self.config["url"])
        self.shown_url = one_line(redact_url(self.url), 120)
        self.method = str(self.config.get("method", "POST")).upper()
        self.body = self.config.get("body", DEFAULT_BODY)
        self.check_json(self.body, ("body",))
        self._check_template(self.body, ("body",))
        self.reply_path = self._path("reply_path")
        tokens = self.config.get("tokens") or {}
        self.prompt_tokens_path = self._path(("tokens", "prompt"), tokens.get("prompt"))
        self.completion_tokens_path = self._path(("tokens", "completion"), tokens.get("completion"))
        self.headers = {"Content-Type": "application/json", "Accept": "application/json, text/plain;q=0.9, */*;q=0.5"}
        self.headers.update(self.headers_from_config())
        self._build_session()

    def _path(self, key: str | tuple, text: str | None = None) -> ReplyPath | None:
        path = (key,) if isinstance(key, str) else key
        if text is None and isinstance(key, str):
            text = self.config.get(key)
        if text is None:
            return None
        try:
            return ReplyPath(str(text))
        except ValueError as exc:
            raise self.config_error(path, str(exc)) from None

    def _check_template(self, body: Any, path: tuple) -> None:
        found = [False]

        def walk(value: Any, where: tuple) -> None:
            if isinstance(value, str):
                if value == MESSAGES or PROMPT in value:
                    found[0] = True
                if MESSAGES in value and value != MESSAGES:
                    raise self.config_error(where, "{{messages}} must be a whole value (\"{{messages}}\"), "
                                                   "it is replaced by a list; use {{prompt}} inside text")
            elif isinstance(value, dict):
                for k, v in value.items():
                    walk(v, where + (k,))
            elif isinstance(value, list):
                for i, v in enumerate(value):
                    walk(v, where + (i,))

        walk(body, path)
        if self.system_prompt is not None and not _has_messages(body):
            raise self.config_error(("system_prompt_file" if "system_prompt_file" in self.config else "system_prompt",),
                                    "a system prompt needs a body template with \"{{messages}}\" (a {{prompt}}-only "
                                    "body cannot carry a system message, so the prompt would be dropped)")
        if not found[0]:
            raise self.config_error(path, "the body template contains neither {{prompt}} nor {{messages}}, "
                                          "so every request would be the same")

    def prepare(self, request: Request) -> Call:
        return Call(self.url, render_body(self.body, request.prompt, request.messages), self.headers, self.shown_url)

    def finish(self, content: bytes, truncated: bool, headers: Mapping[str, str]) -> Reply:
        if self.reply_path is None:
            return Reply(text=decode_text(content, truncated, _charset(headers)), truncated=truncated)
        data = self.parse_json(content, truncated, headers, self.shown_url)
        try:
            value = self.reply_path.get(data)
        except PathMissing as exc:
            raise self.bad_response(f"reply_path {self.reply_path.text!r} not found in the reply from "
                                    f"{self.shown_url} (no {exc.at!r})",
                                    None if truncated else decode_text(content, False), truncated=truncated) from None
        return Reply(text=reply_text_from(value), truncated=truncated,
                     prompt_tokens=self._tokens(self.prompt_tokens_path, data),
                     completion_tokens=self._tokens(self.completion_tokens_path, data), raw=data)

    @staticmethod
    def _tokens(path: ReplyPath | None, data: Any) -> int:
        if path is None:
            return 0
        try:
            return token_count(path.get(data))
        except PathMissing:
            return 0
