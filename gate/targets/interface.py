"""The target plugin family: something that turns a list of chat messages into a reply.

A target is built once per run from its validated config and then called from many worker
threads at once, so `send` must be thread-safe. Retrying is *not* the target's job: a target
raises `TargetError` with `retryable` and an optional `retry_after` and the runner decides
(backoff, jitter, budget). That keeps every target small and the retry policy in one place.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence


@dataclass(frozen=True)
class Message:
    """One chat turn. `role` is system, user or assistant."""

    role: str
    content: str

    def as_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


@dataclass(frozen=True)
class Request:
    """One attempt of one attack, fully rendered (canary already substituted).

    `oracle` lets the built-in simulated target produce a reply the suite's detector will judge
    as a success (`oracle(True)`) or a failure (`oracle(False)`); real targets ignore it.
    """

    messages: tuple[Message, ...]
    attack_id: str = ""
    category: str = ""
    attempt: int = 0
    canary: str | None = None
    oracle: Callable[[bool], str] | None = field(default=None, compare=False, repr=False)

    @property
    def prompt(self) -> str:
        """The last user turn: what single-prompt endpoints receive."""
        for m in reversed(self.messages):
            if m.role == "user":
                return m.content
        return self.messages[-1].content if self.messages else ""


@dataclass(frozen=True)
class Reply:
    """What the target answered. Token counts are 0 when the endpoint does not report them."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    truncated: bool = False
    raw: Any = field(default=None, compare=False, repr=False)


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

    def describe(self) -> dict[str, Any]:
        """A descriptor for results.json: the config minus secrets (env var *names* are kept)."""
        return {k: v for k, v in self.config.items() if k not in SECRET_KEYS}

    def secrets(self) -> list[str]:
        """Secret values this target holds (API keys, header values from the environment)."""
        return []

    def close(self) -> None:
        """Release pooled connections."""


#: config keys that may hold secret material and are never written out
SECRET_KEYS = frozenset({"api_key", "headers"})


def messages_from(seq: Sequence[Mapping[str, str]]) -> tuple[Message, ...]:
    return tuple(Message(str(m["role"]), str(m["content"])) for m in seq)
