"""What flows through a target: the chat messages of one attempt in, the reply out."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


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
