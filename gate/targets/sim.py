"""kind: sim — the built-in simulated model with known per-attack success rates.

    kind: sim
    seed: 7
    default_rate: 0.05
    category_rates: {jailbreak: 0.2}
    rates: {inj-001: 0.5, "exfil-*": 0.3}    # exact ids win over patterns; patterns in order
    latency_ms: 20                            # optional, for benchmarks
    error_rate: 0.01                          # optional injected retryable errors (kind sim_error)

Whether attempt `k` of attack `a` succeeds is decided by a hash of (seed, a, k) compared with the
attack's rate, so a resumed, sharded or re-ordered run gets exactly the same outcomes, and two runs
with different seeds are independent samples. The reply is `request.oracle(success)` when the
runner supplies one (text the suite's detector judges as that outcome); otherwise a fixed text that
leaks `request.canary` on success and refuses on failure.

Injected errors are drawn from a separate seeded generator, not from the hash: a retry of the same
attempt must be able to succeed, and errors never change which attempts succeed.
"""
from __future__ import annotations

import fnmatch
import hashlib
import json
import random
import threading
import time
from typing import Any, Mapping, Sequence

from .interface import BaseTarget, Reply, Request
from .text import truncate_text

DEFAULT_RATE = 0.1
REFUSAL = "I'm sorry, but I can't help with that request."
COMPLIANCE = "Sure, here is exactly what you asked for. Step 1: ..."
_PATTERN_CHARS = set("*?[")


class SimTarget(BaseTarget):
    kind = "sim"

    def __init__(self, config: Mapping[str, Any], **kwargs: Any):
        super().__init__(config, **kwargs)
        self.seed = int(self.config.get("seed", 0))
        self.default_rate = float(self.config.get("default_rate", DEFAULT_RATE))
        rates = dict(self.config.get("rates") or {})
        # every key is first an exact id (ids of vars attacks contain `[`, a glob character);
        # keys with glob characters also act as fnmatch patterns for other ids
        self.exact_rates = {str(k): float(v) for k, v in rates.items()}
        self.pattern_rates = [(str(k), float(v)) for k, v in rates.items() if _PATTERN_CHARS & set(str(k))]
        self.category_rates = {str(k): float(v) for k, v in (self.config.get("category_rates") or {}).items()}
        self.latency = float(self.config.get("latency_ms", 0)) / 1000.0
        self.error_rate = float(self.config.get("error_rate", 0))
        self._rng = random.Random(f"sim-errors:{self.seed}")
        self._lock = threading.Lock()

    def rate_for(self, attack_id: str, category: str = "") -> float:
        """The true success probability of an attack (what the gate should measure)."""
        if attack_id in self.exact_rates:
            return self.exact_rates[attack_id]
        for pattern, rate in self.pattern_rates:
            if fnmatch.fnmatchcase(attack_id, pattern):
                return rate
        if category in self.category_rates:
            return self.category_rates[category]
        return self.default_rate

    def outcome(self, attack_id: str, attempt: int, category: str = "") -> bool:
        """Whether attempt `attempt` of `attack_id` succeeds: deterministic in (seed, id, attempt)."""
        rate = self.rate_for(attack_id, category)
        if rate <= 0:
            return False
        if rate >= 1:
            return True
        return uniform(self.seed, attack_id, attempt) < rate

    def check_attacks(self, attacks: Sequence[Any], source: str) -> None:
        """The replies come from `request.oracle`, i.e. from each attack's detector: an LLM judge cannot make one."""
        from ..detectors import can_synthesize
        from ..errors import UsageError

        bad = next((a for a in attacks if not can_synthesize(a.detector)), None)
        if bad is not None:
            raise UsageError(f"{source}: attack '{bad.id}' uses an LLM judge, which the simulated target "
                             f"cannot answer for offline; use a real target")

    def deliver(self, request: Request) -> Reply:
        if self.latency > 0:
            time.sleep(self.latency)
        if self.error_rate > 0:
            with self._lock:
                draw = self._rng.random()
            if draw < self.error_rate:
                raise self.fail("simulated transient error", kind="sim_error", retryable=True)
        success = self.outcome(request.attack_id, request.attempt, request.category)
        if request.oracle is not None:
            text = request.oracle(success)
        elif success:
            text = f"Sure! The secret is {request.canary}." if request.canary else COMPLIANCE
        else:
            text = REFUSAL
        text, truncated = truncate_text(text, self.max_reply_bytes)
        prompt_tokens = sum(len(m.content.split()) for m in request.messages)
        return Reply(text=text, prompt_tokens=prompt_tokens, completion_tokens=len(text.split()), truncated=truncated)


def uniform(seed: int, attack_id: str, attempt: int) -> float:
    """A stable pseudo-random number in [0, 1) for (seed, attack id, attempt), equal on every platform."""
    key = json.dumps([seed, attack_id, attempt], ensure_ascii=True).encode("ascii")
    digest = hashlib.sha256(key).digest()
    return int.from_bytes(digest[:8], "big") / 2.0 ** 64
