"""One attempt of one attack: render it, send it (retrying), judge the reply, and make its transcript record.

Retrying is the runner's job (targets only classify failures): exponential backoff with full
jitter, honouring Retry-After. An attempt that still fails is an *error*, not a failure: errors
are excluded from the ASR and counted separately. A reply the detector cannot judge (a judge
that failed) is an error too, never silently a success or a failure (docs/statistics.md).

Every per-attempt cost here is kept small: at C = 256 and 100 ms latency the per-attempt CPU, not
the endpoint, is the limit of a threaded client (bench/throughput.py).
"""
from __future__ import annotations

import asyncio
import random
import threading
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from ..detectors.interface import DetectContext, DetectorError
from ..redact import cut
from ..suite import Attack, new_canary
from ..suite.canary import visible_input
from ..targets.interface import Reply, Request, Target, TargetError
from .schedule import RateLimiter

#: error messages kept in the transcript are cut to this many characters
MESSAGE_CHARS = 300


class Abandon(Exception):
    """The attempt was not finished (stop requested, call budget reached): run it again on resume."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a failed call is retried."""

    retries: int                 # retries after the first call (the target's `retries`)
    backoff_base: float          # seconds before the first retry, doubled each time (jittered)
    backoff_cap: float           # the longest backoff
    max_retry_after: float       # a server asking to wait longer fails the attempt

    def delay(self, i: int) -> float:
        """Backoff before retry i+1: exponential, capped, with jitter over its upper half."""
        return min(self.backoff_cap, self.backoff_base * 2 ** i) * random.uniform(0.5, 1.0)


class AttemptRunner:
    """Runs attempts against one target; shared by every worker thread of a run.

    `stop` ends attempts early (they are then `Abandon`ed, not recorded); `take_call` counts each
    call against the run's call budget and raises `Abandon` when it is spent.
    """

    def __init__(self, target: Target, *, retry: RetryPolicy, limiter: RateLimiter, secrets: list[str],
                 reply_chars: int, stop: threading.Event, take_call: Callable[[], None]):
        self.send = target.send
        self.retry = retry
        self.limiter = limiter
        self.rate_limited = limiter.interval > 0
        self.secrets = secrets
        self.reply_chars = reply_chars
        self.stop = stop
        self.take_call = take_call

    def run(self, a: Attack, j: int) -> dict[str, Any]:
        """The transcript record of attempt `j` of attack `a` (an outcome or an error)."""
        req, ctx, rec = self._begin(a, j)
        started = time.monotonic()
        reply, calls = self._send(req, rec)
        return self._end(rec, reply, calls, a, ctx, started)

    async def run_async(self, a: Attack, j: int, send: Callable[[Request], Awaitable[Reply]]) -> dict[str, Any]:
        """`run` on the asyncio engine (gate/run/engine_async.py): `send` is the target's asyncio sender."""
        req, ctx, rec = self._begin(a, j)
        started = time.monotonic()
        reply, calls = await self._send_async(send, req, rec)
        return self._end(rec, reply, calls, a, ctx, started)

    def _begin(self, a: Attack, j: int) -> tuple[Request, DetectContext, dict[str, Any]]:
        canary = new_canary() if a.uses_canary else None
        messages = a.render(canary)
        ctx = DetectContext(canary=canary, prompt=a.messages[-1].content, attack_id=a.id,
                            meta={"goal": a.goal} if a.goal else {}, input_text=visible_input(messages))
        req = Request(messages=messages, attack_id=a.id, category=a.category, attempt=j,
                      canary=canary, oracle=lambda s, d=a.detector, c=ctx: d.synthesize(s, c))
        return req, ctx, {"attack": a.id, "attempt": j}

    def _end(self, rec: dict[str, Any], reply: Reply | None, calls: int, a: Attack, ctx: DetectContext,
             started: float) -> dict[str, Any]:
        if reply is not None:
            self._judge(rec, reply, a, ctx, started)
        rec["calls"] = calls
        if ctx.canary:
            rec["canary"] = ctx.canary
        if "success" not in rec:
            rec["success"] = None
        return rec

    def internal_error(self, a: Attack, j: int, exc: Exception) -> dict[str, Any]:
        """The record of an attempt that raised unexpectedly: a bug in a target or detector must not lose the run."""
        return {"attack": a.id, "attempt": j, "success": None, "error": "internal",
                "message": cut(f"{type(exc).__name__}: {exc}", MESSAGE_CHARS, self.secrets), "calls": 0}

    def _send(self, req: Request, rec: dict[str, Any]) -> tuple[Reply | None, int]:
        """(reply, calls made); the reply is None when the attempt ended in an error (recorded in `rec`)."""
        calls = 0
        for i in range(self.retry.retries + 1):
            if self.stop.is_set() or (self.rate_limited and not self.limiter.acquire(self.stop)):
                raise Abandon()
            self.take_call()
            calls += 1
            try:
                return self.send(req), calls
            except TargetError as exc:
                delay = self._retry_delay(exc, i, rec)
                if delay is None:
                    return None, calls
                if self.stop.wait(delay):
                    raise Abandon()
        return None, calls  # not reached: the last try either returns a reply or records its error

    async def _send_async(self, send: Callable[[Request], Awaitable[Reply]], req: Request,
                          rec: dict[str, Any]) -> tuple[Reply | None, int]:
        """`_send` on the event loop (the asyncio engine is never rate limited: such runs keep their threads)."""
        calls = 0
        for i in range(self.retry.retries + 1):
            if self.stop.is_set():
                raise Abandon()
            self.take_call()
            calls += 1
            try:
                return await send(req), calls
            except TargetError as exc:
                delay = self._retry_delay(exc, i, rec)
                if delay is None:
                    return None, calls
                if await _stopped_within(self.stop, delay):
                    raise Abandon()
        return None, calls

    def _retry_delay(self, exc: TargetError, i: int, rec: dict[str, Any]) -> float | None:
        """After failed call i: seconds to wait before retrying, or None after recording the error in `rec`."""
        delay = self.retry.delay(i)
        if exc.retry_after is not None:
            if exc.retry_after > self.retry.max_retry_after:
                rec.update(error=exc.kind, message=f"server asked to wait {exc.retry_after:.0f}s "
                                                    f"(more than {self.retry.max_retry_after:.0f}s)")
                return None
            delay = max(exc.retry_after, 0.0) + random.uniform(0, 0.1)
        if not exc.retryable or i == self.retry.retries:
            rec.update(error=exc.kind, message=cut(str(exc), MESSAGE_CHARS, self.secrets))
            return None
        return delay

    def _judge(self, rec: dict[str, Any], reply: Reply, a: Attack, ctx: DetectContext, started: float) -> None:
        """Record the reply (scrubbed, cut to `reply_chars`, pieces of secrets at the cut scrubbed too) and the
        detector's verdict on it. The detector sees the reply as received."""
        rec["latency_ms"] = round((time.monotonic() - started) * 1000, 1)
        rec["tokens"] = [reply.prompt_tokens, reply.completion_tokens]
        text = reply.text or ""
        rec["reply"] = cut(text, self.reply_chars, self.secrets) if self.secrets else text[:self.reply_chars]
        if reply.truncated or len(text) > self.reply_chars:
            rec["truncated"] = True
        try:
            det = a.detector.detect(reply.text or "", ctx)
            rec["success"] = bool(det.success)
        except DetectorError as exc:
            rec.update(error=exc.kind, message=cut(str(exc), MESSAGE_CHARS, self.secrets))


async def _stopped_within(stop: threading.Event, delay: float) -> bool:
    """Sleep `delay` seconds on the event loop, waking early (True) when `stop` is set."""
    end = time.monotonic() + delay
    while not stop.is_set():
        left = end - time.monotonic()
        if left <= 0:
            return False
        await asyncio.sleep(min(left, 0.1))
    return True
