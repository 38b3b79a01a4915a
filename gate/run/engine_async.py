"""The asyncio engine: the workers of a run as tasks on one event loop instead of threads.

Why: at high concurrency the threads were the limit. Each reply woke a thread that had to win the GIL
back from up to C others; at C = 256 the process spent more CPU in futex calls than in its own work
and never reached three quarters of the C/L limit (bench/throughput.py, issue 16). On one event loop
an attempt's CPU work runs without contention and a waiting attempt costs a timer and a future.

The engine changes how attempts wait, not what they do: the same AttemptRunner renders, retries,
judges and records each attempt (`run_async`), the same `_Run` counts it and hands out the next one,
and the same transcript writer appends its line, so counts, budgets, resume and the transcript are
those of the threads. It is used when nothing in the run needs a thread (`asyncio_sender`):

* the target can send from the loop (`Target.open_async`: kind openai or http, plain HTTP, no proxy);
* no detector calls a model (an LLM judge is a blocking target call);
* the run is not rate limited and not sequential (both wait on a condition shared by threads).

`asr-gate run --engine threads|asyncio` overrides the choice; asking for asyncio when the run
cannot use it is a usage error that says why.

The loop is uvloop's when uvloop is installed (a dependency on Linux and macOS), else the standard
library's; `ASR_GATE_EVENT_LOOP=asyncio` asks for the standard one. Why: with the same code, uvloop's
loop (libuv, in C) spends less CPU per reply than asyncio's selector loop in Python, and at C = 256 that
CPU is the limit: 1,000 attempts reached 79.4% and 77.0% of C/L against 75.7% and 73.8% on the standard
loop in paired runs, 0.65-0.67 against 0.78-0.80 ms of CPU per attempt (bench/throughput.py, issue 16).
"""
from __future__ import annotations

import asyncio
import importlib.util
from typing import Any, Iterable

from ..errors import UsageError
from ..suite import Attack
from ..targets.interface import Target
from .attempt import Abandon, AttemptRunner
from .parts import parts
from .progress import Progress
from .transcript import TranscriptWriter

def asyncio_sender(engine: str, target: Target, attacks: Iterable[Attack], *, rate_limited: bool,
                   sequential: bool) -> Any:
    """The target's asyncio sender when the run uses the asyncio engine, else None (threads)."""
    if engine == "threads":
        return None
    why = _why_threads(target, attacks, rate_limited=rate_limited, sequential=sequential)
    sender = target.open_async() if why is None else None
    if sender is None and why is None:
        why = f"the target (kind {target.kind}) sends only from threads (plain-HTTP openai/http targets without a proxy can)"
    if engine == "asyncio" and why is not None:
        raise UsageError(f"--engine asyncio: {why}; use --engine threads or auto")
    return sender


#: the values of ASR_GATE_EVENT_LOOP
EVENT_LOOPS = ("uvloop", "asyncio")


def event_loop(setting: str) -> str:
    """The event loop the asyncio engine runs on, from ASR_GATE_EVENT_LOOP's value (`settings.event_loop`):
    "uvloop" when it is installed and not refused, else "asyncio"; a value it cannot honour is a UsageError."""
    if setting and setting not in EVENT_LOOPS:
        raise UsageError(f"ASR_GATE_EVENT_LOOP={setting!r}: expected one of {', '.join(EVENT_LOOPS)}")
    if setting == "asyncio":
        return "asyncio"
    if importlib.util.find_spec("uvloop") is None:
        if setting == "uvloop":
            raise UsageError("ASR_GATE_EVENT_LOOP=uvloop: uvloop is not installed (pip install uvloop), "
                             "or unset it to use the standard event loop")
        return "asyncio"
    return "uvloop"


def _why_threads(target: Target, attacks: Iterable[Attack], *, rate_limited: bool, sequential: bool) -> str | None:
    if rate_limited:
        return "the target is rate limited (requests_per_minute)"
    if sequential:
        return "sequential runs wait for each look on a condition shared by threads"
    for a in attacks:
        if _calls_a_model(a.detector):
            return f"the detector of attack {a.id} calls a model"
    return None


def _calls_a_model(detector: Any) -> bool:
    """A detector (or one combined into it) holding a target: an LLM judge, a blocking call."""
    return any(isinstance(obj, Target) for obj in parts([detector]))


def run_on_loop(run: Any, attempt: AttemptRunner, sender: Any, transcript: TranscriptWriter, n: int,
                progress: Progress, loop: str) -> None:
    """Run the attempts of `run` as n tasks on a new event loop (`loop`: "uvloop" or "asyncio", from
    `event_loop`); Ctrl-C stops the run cleanly (resumable: attempts in flight are not recorded and run
    again on --resume)."""
    main = _main(run, attempt, sender, transcript, n, progress)
    try:
        if loop == "uvloop":
            import uvloop
            uvloop.run(main)
        else:
            asyncio.run(main)
    except KeyboardInterrupt:
        run.interrupt()
    progress.update(run.tally, force=True)


async def _main(run: Any, attempt: AttemptRunner, sender: Any, transcript: TranscriptWriter, n: int,
                progress: Progress) -> None:
    workers = [asyncio.ensure_future(_work(run, attempt, sender, transcript)) for _ in range(n)]
    ticker = asyncio.ensure_future(_tick(run, progress))
    try:
        await asyncio.gather(*workers)
    finally:
        ticker.cancel()
        for w in workers:
            w.cancel()
        sender.close()  # inside the loop: closing a transport schedules work on it


async def _work(run: Any, attempt: AttemptRunner, sender: Any, transcript: TranscriptWriter) -> None:
    """One worker: take an attempt, run it, append its record; until the schedule is done or stopped."""
    finished: tuple[Attack, int] | None = None
    rec: dict[str, Any] = {}
    await sender.warm()
    while True:
        item = run.next_item(finished, rec)
        if item is None:
            return
        try:
            rec = await attempt.run_async(*item, sender.send)
        except Abandon:
            return
        except Exception as exc:  # a bug in a target/detector must not lose the run
            rec = attempt.internal_error(*item, exc)
        transcript.append(rec)
        finished = item


async def _tick(run: Any, progress: Progress) -> None:
    while True:
        await asyncio.sleep(0.2)
        progress.update(run.tally)
