"""What a run will cost before it starts: target calls, estimated tokens, and money when the target has prices.

The estimate is deliberately simple and says so. Prompt tokens are the characters of each request as it
will be sent (the application's system prompt composed in) divided by 4, the usual rule of thumb for
English text with GPT-style tokenizers. Completion tokens are `max_tokens` (or `max_completion_tokens`)
from the target's `params` when set, an upper bound; without it they are assumed to be
`ASSUMED_COMPLETION_TOKENS` per reply and the line says "assumed". Retries and an LLM judge's own calls
come on top: the preview counts one call per planned attempt.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from ..targets.system_prompt import compose

#: characters per token of the prompt estimate
CHARS_PER_TOKEN = 4
#: completion tokens per reply when the target sets no max_tokens
ASSUMED_COMPLETION_TOKENS = 256


@dataclass(frozen=True)
class CostEstimate:
    calls: int
    prompt_tokens: int
    completion_tokens: int
    completion_bounded: bool        # True: from max_tokens (an upper bound); False: assumed
    money: float | None             # None when the target has no prices

    def as_dict(self) -> dict[str, Any]:
        """What results.json keeps (`plan`), so the job summary can show what the run was expected to cost."""
        return {"calls": self.calls, "prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                "completion_bounded": self.completion_bounded,
                "cost": None if self.money is None else round(self.money, 6)}

    def line(self) -> str:
        how = "at most, from max_tokens" if self.completion_bounded else f"assumed {ASSUMED_COMPLETION_TOKENS} per reply"
        out = (f"plan: {self.calls} target calls, about {self.prompt_tokens:,} prompt tokens (characters / "
               f"{CHARS_PER_TOKEN}) and {self.completion_tokens:,} completion tokens ({how})")
        if self.money is not None:
            out += f"; estimated cost {self.money:.4f} (target prices; retries and judge calls extra)"
        return out


def completion_limit(params: dict[str, Any]) -> int | None:
    for key in ("max_tokens", "max_completion_tokens", "max_new_tokens", "num_predict"):
        v = params.get(key)
        if isinstance(v, int) and not isinstance(v, bool) and v > 0:
            return v
    return None


def estimate(attacks: Sequence[Any], n_of: Callable[[Any], int], target: Any) -> CostEstimate:
    """The cost of running every attempt of `attacks` (n_of(a) each) against `target`."""
    prompt, mode = target.system_prompt, target.system_prompt_mode
    limit = completion_limit(dict(target.config.get("params") or {}))
    per_reply = limit or ASSUMED_COMPLETION_TOKENS
    calls = prompt_tokens = 0
    for a in attacks:
        n = n_of(a)
        chars = sum(len(m.content) for m in compose(a.messages, prompt, mode))
        calls += n
        prompt_tokens += n * math.ceil(chars / CHARS_PER_TOKEN)
    completion_tokens = calls * per_reply
    money = None
    p_in, p_out = target.config.get("price_per_1k_input_tokens"), target.config.get("price_per_1k_output_tokens")
    if p_in is not None or p_out is not None:
        money = prompt_tokens / 1000 * float(p_in or 0) + completion_tokens / 1000 * float(p_out or 0)
    return CostEstimate(calls, prompt_tokens, completion_tokens, limit is not None, money)
