"""Run a suite against a target: bounded concurrency, budgets, resume, results.json (docs/architecture.md).

Design choices, and why:
* Threads + one pooled `requests.Session` per target: model calls are I/O bound, and a thread per
  in-flight request keeps every target implementation a plain blocking function. The HTTP targets
  send through the urllib3 pool of their session (gate/targets/http.py), sized here for the workers.
  When nothing in the run needs a thread (a plain-HTTP openai/http target, no LLM judge, no rate
  limit, not sequential) the same workers run as tasks on one event loop instead (`engine_async.py`):
  at high concurrency the threads' contention for the GIL, not the endpoint, was the limit.
* The transcript is the source of truth (`transcript.py`): results.json is recomputed from its
  records, and a killed run resumes from them. One attempt is `attempt.py`; which attempt runs next
  (interleaved plan, looks, rate limit) is `schedule.py`; the output directory is `output.py`.
* Sequential mode (`options.sequential`, a `gate.run.sequential.Design`): attacks run look by look in
  the design's stratified order; after the last attempt of a look the group-sequential rule decides
  whether to stop (no attempt of a later look is started before that). results.json records
  `sequential: {look, decision, attacks_run, ...}` and leaves out the attacks never run.
* Budgets judge this invocation: too many errors (`max_error_rate`) or calls (`max_calls`) stop the
  run with exit 3 after results.json and the transcript are written, so `--resume` can finish it.
"""
from __future__ import annotations

import contextlib
import dataclasses
import gc
import importlib
import os
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, TextIO

from ..errors import MeasureError, UsageError
from ..hashing import short_hash
from .. import settings
from ..results import build_results, write_json_atomic
from ..suite import Attack, Suite
from ..suite.select import Selection, select_attacks
from ..targets.interface import Target
from ..targets.system_prompt import announcement
from .attempt import Abandon, AttemptRunner, RetryPolicy
from .cost import CostEstimate, estimate
from .engine_async import asyncio_sender, event_loop, run_on_loop
from .output import RESULTS, TRANSCRIPT, OutputDir, now_utc, previous_run, write_run_meta
from .parts import parts
from .progress import Progress
from .schedule import RateLimiter, Schedule, attempts_per_attack, looks_of, shard_attacks
from .sequential import LookMonitor, design_hash
from .transcript import Tally, TranscriptWriter, read_transcript_lines, resume_state, secrets_of


@dataclass
class RunOptions:
    attempts: int | None = None          # override every attack's attempts
    concurrency: int | None = None       # override the target's concurrency
    resume: bool = False
    max_calls: int | None = None         # budget of target calls, retries included
    max_error_rate: float = 0.2          # stop (exit 3) when errors/finished exceeds this
    min_finished_for_budget: int = 20    # ... once at least this many attempts finished
    shard: tuple[int, int] | None = None  # (i, n), 1-based
    reply_chars: int = 2000              # reply text kept per transcript line
    backoff_base: float | None = None    # seconds; default from target config or 0.5
    backoff_cap: float = 30.0
    max_retry_after: float = 120.0       # a server asking to wait longer fails the attempt
    progress: TextIO | None = None       # where progress goes (stderr by default); None disables
    progress_interval: float = 10.0      # seconds between progress lines when not a TTY
    sequential: Any = None               # a gate.run.sequential.Design: run look by look, stop early
    selection: Selection | None = None   # run only these attacks (--only / --category / --tag)
    max_cost: float | None = None        # refuse to start when the estimated cost is above this
    engine: str = "auto"                 # threads | asyncio | auto (engine_async.asyncio_sender decides)


@dataclass(frozen=True)
class _Plan:
    """What this invocation runs, fixed before the output directory is touched."""

    suite: Suite
    attacks: tuple[Attack, ...]
    looks: list[tuple[Attack, ...]]
    n_of: Callable[[Attack], int]
    planned: int
    shard_label: str | None
    design: Any
    selection: dict[str, Any] | None

    @classmethod
    def of(cls, suite: Suite, opts: RunOptions) -> _Plan:
        if opts.selection and opts.sequential is not None:
            raise UsageError(f"{opts.selection.describe()}: a sequential run needs the whole suite (its looks are "
                             f"planned over every attack)")
        selected = select_attacks(suite, opts.selection)
        attacks = shard_attacks(selected, opts.shard)
        n_of = attempts_per_attack(opts.attempts)
        looks = looks_of(attacks, opts.sequential, opts.shard)
        record = opts.selection.record(len(selected), len(suite.attacks)) if opts.selection else None
        return cls(suite=suite, attacks=attacks, looks=looks, n_of=n_of, planned=sum(n_of(a) for a in attacks),
                   shard_label=f"{opts.shard[0]}/{opts.shard[1]}" if opts.shard else None, design=opts.sequential,
                   selection=record)


class _Run:
    """The state the workers of one invocation share; every field is guarded by `cond`."""

    def __init__(self, tally: Tally, schedule: Schedule, opts: RunOptions, monitor: LookMonitor | None):
        self.tally = tally
        self.schedule = schedule
        self.opts = opts
        self.monitor = monitor
        self.cond = threading.Condition(threading.Lock())
        self.stop = threading.Event()
        self.stop_reason: str | None = None
        self.calls_before = tally.calls   # calls of earlier invocations (the call budget is this one's)
        self.finished_now = 0             # attempts finished by this invocation (the error budget is this one's)
        self.errors_now = 0
        self.t0 = time.monotonic()

    def take_call(self) -> None:
        """Count one target call; `Abandon` (and stop the run) when the call budget is spent."""
        with self.cond:
            if self.opts.max_calls is not None and self.tally.calls - self.calls_before >= self.opts.max_calls:
                self.stop_reason = (self.stop_reason
                                    or f"call budget of {self.opts.max_calls} reached; finish with --resume")
                self.stop.set()
                raise Abandon()
            self.tally.calls += 1

    def next_item(self, finished: tuple[Attack, int] | None, rec: dict[str, Any]) -> tuple[Attack, int] | None:
        """Count the attempt just finished (its line is in the transcript) and take the next one, under one
        acquisition of the lock; None when there is nothing more to run."""
        with self.cond:
            if finished is not None:
                self._account(finished, rec)
            return self.schedule.next(self.stop, self.cond)

    def _account(self, item: tuple[Attack, int], rec: dict[str, Any]) -> None:
        self.tally.count(rec)
        self.finished_now += 1
        self.errors_now += bool(rec.get("error"))
        self.schedule.finished(item[0].id, self.cond)
        # the budgets judge this invocation: errors of an earlier one were before a resume
        opts = self.opts
        if (self.finished_now >= opts.min_finished_for_budget
                and self.errors_now > opts.max_error_rate * self.finished_now and not self.stop.is_set()):
            common = _common_errors(self.tally)
            self.stop_reason = (f"error budget exceeded: {self.errors_now} of {self.finished_now} attempts failed "
                                f"(limit {opts.max_error_rate:.0%}); most common: {common}")
            self.stop.set()
            self.cond.notify_all()

    def interrupt(self) -> None:
        self.stop.set()
        self.stop_reason = "interrupted; finish with --resume"


def run_suite(suite: Suite, target: Target, out_dir: str, options: RunOptions | None = None) -> dict[str, Any]:
    """Run every planned attempt (or what remains of it) and return the results dict.

    Raises MeasureError (exit 3) when the error or call budget stops the run; results.json and the
    transcript are written first, so `--resume` can finish it.
    """
    opts = options or RunOptions()
    plan = _Plan.of(suite, opts)
    if plan.design is not None:
        importlib.import_module("..stats", __package__)  # scipy now, not under the lock at the first look
    meta = {"suite": suite.id, "suite_hash": suite.hash, "detector_hash": suite.detector_hash(),
            "attempts": opts.attempts, "shard": plan.shard_label, "planned": plan.planned,
            "target": short_hash(target.describe(), 16),
            "sequential": design_hash(plan.design) if plan.design is not None else None,
            "selection": plan.selection}
    target.check_attacks(plan.attacks, suite.path)
    said = announcement(target.system_prompt, target.system_prompt_mode,
                        (a.messages for a in plan.attacks))
    cost = _check_cost(plan, target, opts)
    sender = asyncio_sender(opts.engine, target, plan.attacks, rate_limited=bool(target.requests_per_minute),
                            sequential=plan.design is not None)
    asked_loop = settings.event_loop()
    loop = event_loop(asked_loop)  # a bad value is an error whichever engine runs
    unapplied = (f"ASR_GATE_EVENT_LOOP={asked_loop} is not applied: this run's workers are threads (--engine)"
                 if asked_loop and sender is None else "")
    if opts.progress is not None:
        opts.progress.write("".join(line + "\n" for line in (said, cost.line(), unapplied) if line))

    out = OutputDir(out_dir)
    try:
        started_at = now_utc()
        old = previous_run(out, meta, resume=opts.resume)
        if old is not None:
            started_at = old.get("started_at", started_at)
        records = read_transcript_lines(out.file(TRANSCRIPT)) if old is not None else []
        write_run_meta(out, {**meta, "started_at": started_at})
        tally, done = resume_state(out.file(TRANSCRIPT), records, plan.attacks, plan.n_of)
        del records
        run = _execute(plan, target, opts, out, tally, done, sender, loop)
        results = _results(plan, target, opts, run, started_at)
        results["plan"] = cost.as_dict()
        write_json_atomic(out.file(RESULTS), results)
    finally:
        out.close()
    if run.stop_reason:
        raise MeasureError(f"run stopped: {run.stop_reason} ({run.tally.finished} of {plan.planned} attempts done; "
                           f"results so far in {out_dir}/{RESULTS})")
    unmeasured = _too_many_errors(run.tally, opts.max_error_rate)
    if unmeasured:
        raise MeasureError(f"could not measure: {unmeasured} (results in {out_dir}/{RESULTS})")
    return results


def preview(suite: Suite, target: Target, opts: RunOptions) -> CostEstimate:
    """`run --dry-run`: what the run would send and cost, with every check of a real start, and no call."""
    plan = _Plan.of(suite, opts)
    target.check_attacks(plan.attacks, suite.path)
    return _check_cost(plan, target, opts)


def _check_cost(plan: _Plan, target: Target, opts: RunOptions) -> CostEstimate:
    cost = estimate(plan.attacks, plan.n_of, target)
    if opts.max_cost is not None:
        if cost.money is None:
            raise UsageError("--max-cost needs the target's price_per_1k_input_tokens and price_per_1k_output_tokens "
                             f"({target.source})")
        if cost.money > opts.max_cost:
            raise UsageError(f"estimated cost {cost.money:.4f} is above --max-cost {opts.max_cost:g}: not started "
                             f"({cost.calls} calls; fewer --attempts or a --category/--only selection cost less)")
    return cost


def _common_errors(tally: Tally) -> str:
    return ", ".join(f"{k} x{v}" for k, v in tally.error_kinds.most_common(3))


def _too_many_errors(tally: Tally, max_error_rate: float) -> str | None:
    """Why the finished run measured too little, judged over the whole run at any size (the in-flight budget
    waits for `min_finished_for_budget` attempts, so a small run against a dead server would pass it)."""
    if not tally.finished or tally.errors <= max_error_rate * tally.finished:
        return None
    common = _common_errors(tally)
    if tally.errors == tally.finished:
        return f"every attempt ended in an error ({tally.errors} of {tally.finished}; {common})"
    return (f"{tally.errors} of {tally.finished} attempts ended in an error, more than --max-error-rate "
            f"{max_error_rate:.0%} ({common})")


def _execute(plan: _Plan, target: Target, opts: RunOptions, out: OutputDir, tally: Tally, done: set,
             sender: Any, loop: str) -> _Run:
    """Run the attempts not yet done with the workers (threads, or tasks on event loop `loop` when `sender` is
    the target's asyncio sender); return the run's final state."""
    monitor = LookMonitor(plan.design, tally.counts) if plan.design is not None else None
    run = _Run(tally, Schedule(plan.looks, plan.n_of, done, monitor.look_done if monitor else None), opts, monitor)
    backoff_base = opts.backoff_base if opts.backoff_base is not None else float(target.config.get("backoff_base", 0.5))
    attempt = AttemptRunner(
        target, retry=RetryPolicy(target.retries, backoff_base, opts.backoff_cap, opts.max_retry_after),
        limiter=RateLimiter(target.requests_per_minute), secrets=secrets_of(target, plan.attacks),
        reply_chars=opts.reply_chars, stop=run.stop, take_call=run.take_call)
    progress = Progress(opts.progress, plan.planned, tally.finished, opts.progress_interval)
    transcript = TranscriptWriter(out.file(TRANSCRIPT))
    try:
        concurrency = max(1, opts.concurrency or target.concurrency)
        n_workers = max(1, min(concurrency, sum(run.schedule.remaining)))
        _reserve_connections([target] + [a.detector for a in plan.attacks], n_workers)
        with _start_up_objects_frozen():
            if sender is not None:
                run_on_loop(run, attempt, sender, transcript, n_workers, progress, loop)
            else:
                _run_workers(run, attempt, transcript, n_workers, progress)
    finally:
        transcript.close()
    return run


@contextlib.contextmanager
def _start_up_objects_frozen() -> Any:
    """Keep the objects that exist before the attempts start (modules, the suite, the target: ~40,000) out of
    the garbage collector's sight while the attempts run, and hand them back afterwards.

    Why: the attempts allocate enough for a full collection to fall inside a short run, and a full
    collection walks every object of start-up: 15-28 ms of a 0.5 s run of 1,000 attempts at C = 256,
    during which no reply is read (bench/throughput.py, issue 16). None of them is garbage.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _work(run: _Run, attempt: AttemptRunner, transcript: TranscriptWriter) -> None:
    """One worker thread: take an attempt, run it, append its record; until the schedule is done or stopped."""
    finished: tuple[Attack, int] | None = None
    rec: dict[str, Any] = {}
    while True:
        item = run.next_item(finished, rec)
        if item is None:
            return
        try:
            rec = attempt.run(*item)
        except Abandon:
            return
        except Exception as exc:  # a bug in a target/detector must not lose the run
            rec = attempt.internal_error(*item, exc)
        transcript.append(rec)
        finished = item


def _run_workers(run: _Run, attempt: AttemptRunner, transcript: TranscriptWriter, n: int,
                 progress: Progress) -> None:
    """Start n workers and wait for them, showing progress; Ctrl-C stops the run cleanly (resumable)."""
    threads = [threading.Thread(target=_work, args=(run, attempt, transcript), name=f"asr-gate-{k}", daemon=True)
               for k in range(n)]
    for t in threads:
        t.start()
    try:
        for t in threads:
            while t.is_alive():
                t.join(timeout=0.2)
                progress.update(run.tally)
    except KeyboardInterrupt:
        run.interrupt()
        for t in threads:
            t.join(timeout=5)
    progress.update(run.tally, force=True)


def _results(plan: _Plan, target: Target, opts: RunOptions, run: _Run, started_at: str) -> dict[str, Any]:
    """results.json from the tally; in sequential mode with the design's block, without attacks never run."""
    tally = run.tally
    counts = list(tally.counts.values())
    seq_block = None
    if run.monitor is not None:
        seq_block = run.monitor.results_block(plan.planned, tally.finished)
        ran = run.monitor.attacks_run()
        if ran is not None:  # attacks of looks never started are not part of the results
            counts = [c for c in counts if c.id in ran]
    results = build_results(
        suite=plan.suite, target=target.describe(), counts=counts, started_at=started_at,
        finished_at=now_utc(), duration_s=time.monotonic() - run.t0, calls=tally.calls,
        tokens={"prompt": tally.prompt_tokens, "completion": tally.completion_tokens},
        error_kinds=tally.error_kinds, complete=tally.finished == plan.planned, shard=plan.shard_label,
        attempts_override=opts.attempts, selection=plan.selection)
    if seq_block is not None:
        results["sequential"] = seq_block
    return results


def _reserve_connections(roots: list[Any], n: int) -> None:
    """Size the connection pools of the target and of any judge target inside the detectors for n workers."""
    for obj in parts(roots):
        reserve = getattr(obj, "reserve_connections", None)
        if callable(reserve):
            reserve(n)


def run_ab(suite: Suite, candidate: Target, baseline: Target, out_dir: str,
           options: RunOptions | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Live A/B: run the baseline and the candidate target at the same time, in the same job.

    Both runs proceed concurrently (their attempts interleave in time), so serving drift, judge
    drift and time-of-day effects hit both arms alike and drop out of the comparison. Returns
    (baseline results, candidate results), written to DIR/baseline and DIR/candidate.
    """
    opts = options or RunOptions()
    quiet = dataclasses.replace(opts, progress=None)
    out: dict[str, Any] = {}
    errors: dict[str, BaseException] = {}

    def arm(name: str, target: Target, o: RunOptions) -> None:
        try:
            out[name] = run_suite(suite, target, os.path.join(out_dir, name), o)
        except BaseException as exc:  # re-raised in the caller's thread
            errors[name] = exc

    t = threading.Thread(target=arm, args=("baseline", baseline, quiet), daemon=True)
    t.start()
    arm("candidate", candidate, opts)
    t.join()
    for name in ("candidate", "baseline"):
        if name in errors:
            raise errors[name]
    return out["baseline"], out["candidate"]
