"""The target plugin family: something that turns a list of chat messages into a reply.

A target is built once per run from its validated config and then called from many worker
threads at once, so `send` must be thread-safe. Retrying is *not* the target's job: a target
raises `TargetError` with `retryable` and an optional `retry_after` and the runner decides
(backoff, jitter, budget). That keeps every target small and the retry policy in one place.

`Target` is the abstract interface; `BaseTarget` is the base class of the built-in kinds (located
config errors, `${ENV}` secrets, scrubbing). The kinds are listed in `gate.targets.KINDS`.
"""
from __future__ import annotations

import abc
import dataclasses
import hashlib
import os
import re
from typing import Any, Mapping, Sequence

from .. import redact
from ..config import Document
from ..errors import ConfigError
from .messages import Message, Reply, Request
from .system_prompt import DEFAULT_MODE, compose
from .text import EXCERPT_CHARS, excerpt, redact_url

#: default for `max_reply_bytes` (1 MiB)
DEFAULT_MAX_REPLY_BYTES = 1024 * 1024
#: secrets shorter than this are not reported by `secrets()` (masking "1" everywhere helps nobody)
MIN_SECRET_CHARS = 4
#: the largest `system_prompt_file` read (a prompt is text, not a corpus)
MAX_SYSTEM_PROMPT_BYTES = 256 * 1024


class TargetError(Exception):
    """A failed call. `retryable` errors (429, 5xx, timeouts, resets) may be retried by the runner.

    `retry_after` is the delay in seconds the server asked for, already parsed from either the
    delta-seconds or the HTTP-date form of `Retry-After`. `kind` is a short machine label
    (http_429, http_500, timeout, connection, bad_response, ...) used in error tallies.
    """

    def __init__(self, message: str, *, kind: str = "error", retryable: bool = False,
                 retry_after: float | None = None, status: int | None = None):
        super().__init__(message)
        self.kind = kind
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status


class Target(abc.ABC):
    """Abstract base: `send` one request, `describe` without secrets, `close` pooled resources."""

    #: the `kind:` value in target YAML
    kind: str = ""
    #: the application's system prompt and how it meets an attack's own (set by `BaseTarget`)
    system_prompt: str | None = None
    system_prompt_mode: str = DEFAULT_MODE

    def __init__(self, config: Mapping[str, Any], *, source: str = "<target>"):
        self.config = dict(config)
        self.source = source

    @property
    def concurrency(self) -> int:
        return int(self.config.get("concurrency", 8))

    @property
    def timeout(self) -> float:
        return float(self.config.get("timeout", 60))

    @property
    def retries(self) -> int:
        return int(self.config.get("retries", 4))

    @property
    def requests_per_minute(self) -> float | None:
        rpm = self.config.get("requests_per_minute")
        return float(rpm) if rpm else None

    @abc.abstractmethod
    def send(self, request: Request) -> Reply:
        """Send one request; raise `TargetError` on failure. Must be thread-safe."""

    def check_attacks(self, attacks: Sequence[Any], source: str) -> None:
        """Raise UsageError when this target cannot serve one of `attacks` (the runner asks once, before
        the first call, so a run does not fail attempt after attempt). `source` names the suite."""

    def describe(self) -> dict[str, Any]:
        """A descriptor for results.json: the config minus secrets (env var *names* are kept)."""
        return {k: v for k, v in self.config.items() if k not in SECRET_KEYS}

    def secrets(self) -> list[str]:
        """Secret values this target holds (API keys, header values from the environment)."""
        return []

    def scrub_values(self) -> list[str]:
        """What `excerpt` and `scrub` remove, longest first: `secrets` and what the process
        `gate.redact.remember`ed (the GitHub token)."""
        return redact.prepare([*self.secrets(), *redact.known()])

    def excerpt(self, text: Any, limit: int = EXCERPT_CHARS) -> str:
        """One line of at most `limit` characters of something the endpoint sent (an error body, a reply),
        scrubbed of secrets *before* it is cut (`gate.targets.text.excerpt`): no piece of a secret is left
        at the cut, however short."""
        return excerpt(text, limit, self.scrub_values())

    def close(self) -> None:
        """Release pooled connections."""


#: config keys that may hold secret material and are never written out
SECRET_KEYS = frozenset({"api_key", "headers"})


# --------------------------------------------------------------------------------------------
# the base class of the built-in kinds


class BaseTarget(Target):
    """Shared plumbing: the application's system prompt, located config errors, secret bookkeeping,
    scrubbing of error messages.

    `send` is final here: it composes the application's system prompt with the attack's messages
    (`gate.targets.system_prompt`) and hands the result to the kind's `deliver`, so no kind can drop it."""

    def __init__(self, config: Mapping[str, Any], *, source: str = "<target>",
                 doc: Document | None = None, base: Sequence[Any] = ()):
        super().__init__(config, source=source)
        self._doc = doc if doc is not None else Document(source, dict(config), {})
        self._base = tuple(base)
        self._secrets: list[str] = []
        self.system_prompt, self.system_prompt_mode = self._application_prompt()

    # -- the application under test

    def send(self, request: Request) -> Reply:
        return self.deliver(self.composed(request))

    def composed(self, request: Request) -> Request:
        """`request` with the application's system prompt composed into its messages (what `deliver` gets;
        the asyncio engine's exchange, gate/targets/async_http.py, sends the same)."""
        if self.system_prompt is None:
            return request
        return dataclasses.replace(
            request, messages=compose(request.messages, self.system_prompt, self.system_prompt_mode))

    def open_async(self) -> Any:
        """An asyncio sender for the runner's asyncio engine (gate/run/engine_async.py), or None when this
        kind is only sent from threads. The sender sends exactly what `send` would."""
        return None

    @abc.abstractmethod
    def deliver(self, request: Request) -> Reply:
        """Send `request`, whose messages already carry the application's system prompt. Thread-safe."""

    def _application_prompt(self) -> tuple[str | None, str]:
        """(`system_prompt` or the text of `system_prompt_file`, `system_prompt_mode`), checked."""
        text = self.config.get("system_prompt")
        file = self.config.get("system_prompt_file")
        if text is not None and file is not None:
            raise self.config_error(("system_prompt_file",), "set system_prompt or system_prompt_file, not both")
        if file is not None:
            text = self._read_prompt_file(str(file))
        if "system_prompt_mode" in self.config and text is None:
            raise self.config_error(("system_prompt_mode",), "system_prompt_mode is set but the target has no "
                                                              "system_prompt or system_prompt_file to compose")
        return (None if text is None else str(text)), str(self.config.get("system_prompt_mode", DEFAULT_MODE))

    def resolve_path(self, name: str) -> str:
        """`name` relative to the target file's folder (the working directory for an inline config)."""
        here = os.path.dirname(os.path.abspath(self.source)) if os.path.isfile(self.source) else os.getcwd()
        return os.path.normpath(os.path.join(here, os.path.expanduser(name)))

    def _read_prompt_file(self, name: str) -> str:
        """The prompt file, relative to the target file's folder (so a pull request editing it changes the run)."""
        path = self.resolve_path(name)
        try:
            with open(path, "rb") as fh:
                raw = fh.read(MAX_SYSTEM_PROMPT_BYTES + 1)
        except OSError as exc:
            raise self.config_error(("system_prompt_file",), f"cannot read {path}: {exc.strerror or exc}") from None
        if len(raw) > MAX_SYSTEM_PROMPT_BYTES:
            raise self.config_error(("system_prompt_file",), f"{path} is larger than {MAX_SYSTEM_PROMPT_BYTES} bytes")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise self.config_error(("system_prompt_file",), f"{path} is not UTF-8 text (byte {exc.start})") from None
        text = text.rstrip("\r\n")
        if not text.strip():
            raise self.config_error(("system_prompt_file",), f"{path} is empty")
        return text

    # -- configuration helpers

    def config_error(self, path: Sequence[Any], message: str) -> ConfigError:
        """A ConfigError located at `path` (relative to this target's config)."""
        return self._doc.error(self._base + tuple(path), message)

    def env(self, name: str, path: Sequence[Any]) -> str:
        """The value of environment variable `name`; unset or empty is a located ConfigError.

        Empty counts as unset: GitHub Actions expands a missing secret to an empty string.
        """
        value = os.environ.get(name)
        if not value:
            state = "is empty" if value == "" else "is not set"
            raise self.config_error(path, f"environment variable {name} {state}")
        return value

    def secret(self, value: str) -> str:
        """Remember `value` as a secret (scrubbed from messages, returned by secrets())."""
        if value and value not in self._secrets:
            self._secrets.append(value)
        return value

    def expand_env(self, template: str, path: Sequence[Any]) -> str:
        """Replace `${NAME}` by the environment variable NAME (a secret); `$${` is a literal `${`."""
        out: list[str] = []
        pos = 0
        for m in _ENV_REF.finditer(template):
            out.append(template[pos:m.start()])
            pos = m.end()
            if m.group(0) == "$${":
                out.append("${")
            elif m.group(1) is None:
                raise self.config_error(path, "malformed ${...} reference (expected ${NAME} with letters, "
                                              "digits and _; write $${ for a literal ${)")
            else:
                out.append(self.secret(self.env(m.group(1), path)))
        out.append(template[pos:])
        return "".join(out)

    def headers_from_config(self, key: str = "headers") -> dict[str, str]:
        """The `headers:` mapping with `${ENV}` expanded; values must be single-line."""
        headers: dict[str, str] = {}
        for name, value in (self.config.get(key) or {}).items():
            resolved = self.expand_env(str(value), (key, name))
            if "\n" in resolved or "\r" in resolved or "\0" in resolved or resolved[:1].isspace():
                raise self.config_error((key, name), "header value contains a line break, NUL or leading "
                                                     "whitespace (after ${ENV} substitution)")
            headers[str(name)] = resolved
        return headers

    @property
    def max_reply_bytes(self) -> int:
        return int(self.config.get("max_reply_bytes", DEFAULT_MAX_REPLY_BYTES))

    # -- secrets

    def secrets(self) -> list[str]:
        return [s for s in self._secrets if len(s) >= MIN_SECRET_CHARS]

    def scrub_values(self) -> list[str]:
        # every value of this target, even one shorter than `MIN_SECRET_CHARS` (replaced whole only)
        return sorted({s for s in [*self._secrets, *redact.known()] if s}, key=len, reverse=True)

    def scrub(self, text: str) -> str:
        """`text` without this target's secrets: whole values, and pieces of 8 or more characters
        (`gate.redact.scrub`)."""
        return redact.scrub(text, self.scrub_values())

    def fail(self, message: str, *, kind: str, retryable: bool, retry_after: float | None = None,
             status: int | None = None) -> TargetError:
        """A TargetError whose message is one line, scrubbed of secrets and bounded (scrubbed first, then cut).

        Quote what an endpoint sent with `excerpt`, not a cut of your own: a cut before this scrub could leave
        a short prefix of a secret that no scrub can recognise any more."""
        return TargetError(excerpt(message, 2 * EXCERPT_CHARS + 200, self.scrub_values()), kind=kind,
                           retryable=retryable, retry_after=retry_after, status=status)

    def describe(self) -> dict[str, Any]:
        out = {k: v for k, v in self.config.items() if k not in SECRET_KEYS}
        for key in ("url", "base_url"):
            if isinstance(out.get(key), str):
                out[key] = redact_url(out[key])
        if self.system_prompt is not None:  # which prompt was measured, also when it came from a file
            out["system_prompt_sha256"] = hashlib.sha256(self.system_prompt.encode("utf-8")).hexdigest()
            out["system_prompt_mode"] = self.system_prompt_mode
        return out


__all__ = ["BaseTarget", "Message", "Reply", "Request", "Target", "TargetError"]

_ENV_REF = re.compile(r"\$\$\{|\$\{(?:([A-Za-z_][A-Za-z0-9_]*)\}|)")
