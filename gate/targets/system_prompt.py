"""The application's system prompt, composed with the attack's own system message.

The target's `system_prompt` (or `system_prompt_file`) belongs to the application under test: it is
what a mitigation changes. An attack's `system` message is scenario context (a secret to keep, a tool
description). Dropping either one measures a different application than the one a team ships, so the
two are composed for every target kind, the same way, before the request leaves asr-gate:

- ``prepend`` (default): one system message, the application's prompt, a blank line, the attack's;
- ``append``: one system message, the attack's, a blank line, the application's;
- ``replace``: the application's prompt only (the attack's system message is dropped);
- ``attack``: the attack's system message as written, the application's prompt only when the attack
  has none (explicit opt-in: it ignores the application's prompt wherever the suite sets one).

The composed prompt is always ONE leading system message: many chat templates (llama.cpp's among
them) accept a single system turn at the start and reject or silently merge the rest. Only the attack's
*leading* system messages are composed; a system turn later in a conversation is part of the attack.
"""
from __future__ import annotations

from typing import Iterable, Sequence

from .messages import Message

MODES = ("prepend", "append", "replace", "attack")
DEFAULT_MODE = "prepend"
SEPARATOR = "\n\n"
#: what each mode sends, in the words `validate` and `run` use
MEANING = {
    "prepend": "the target's system prompt first, then the attack's own system message",
    "append": "the attack's own system message first, then the target's system prompt",
    "replace": "the target's system prompt only (the attack's own system message is dropped)",
    "attack": "the attack's own system message INSTEAD of the target's system prompt wherever the attack has one",
}


def compose(messages: Sequence[Message], app_prompt: str | None, mode: str = DEFAULT_MODE) -> tuple[Message, ...]:
    """The messages the application receives: `messages` (an attack's turns) under the application's
    system prompt. Without an application prompt the attack's turns are returned unchanged."""
    msgs = tuple(messages)
    if app_prompt is None:
        return msgs
    if mode not in MODES:
        raise ValueError(f"unknown system_prompt_mode {mode!r}")
    lead = 0
    while lead < len(msgs) and msgs[lead].role == "system":
        lead += 1
    attack_system = [m.content for m in msgs[:lead]]
    turns = msgs[lead:]  # a system turn later in the conversation is part of the attack and stays where it is
    if not attack_system or mode == "replace":
        system = app_prompt
    elif mode == "attack":
        return msgs
    else:
        theirs = SEPARATOR.join(attack_system)
        system = app_prompt + SEPARATOR + theirs if mode == "prepend" else theirs + SEPARATOR + app_prompt
    return (Message("system", system),) + turns


def announcement(prompt: str | None, mode: str, attack_messages: Iterable[Sequence[Message]]) -> str | None:
    """The line `run` prints before the first call: that the application's prompt is sent, and how the mode
    treats the suite's own system messages (None without an application prompt)."""
    if prompt is None:
        return None
    k, n = attacks_with_system(attack_messages)
    head = f"system prompt: the target's ({len(prompt)} characters) is sent with every attack"
    if k == 0:
        return head + " (no attack of this suite has its own system message)"
    return f"{head}; system_prompt_mode {mode}: {MEANING[mode]} ({k} of {n} attacks have their own system message)"


def attacks_with_system(attack_messages: Iterable[Sequence[Message]]) -> tuple[int, int]:
    """(attacks that open with a system message, attacks)."""
    n = k = 0
    for msgs in attack_messages:
        n += 1
        k += bool(msgs) and msgs[0].role == "system"
    return k, n
