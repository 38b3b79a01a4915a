"""Run a suite against a target: bounded concurrency, rate limits, retries, transcript, resume.

Design choices, and why:
* Threads + one pooled `requests.Session` per target: model calls are I/O bound, and a thread per
  in-flight request keeps every target implementation a plain blocking function.
* Attempts are interleaved across attacks (attempt 0 of every attack, then attempt 1, ...), so a
  run that stops early is still balanced: every attack has about the same number of attempts.
* The transcript is the source of truth. Each finished attempt is appended and flushed as one JSON
  line; results.json is recomputed from it. A killed run resumes from the transcript without
  repeating or losing an attempt (in-flight attempts at the kill are simply run again).
* Retrying is the runner's job (targets only classify failures): exponential backoff with full
  jitter, honouring Retry-After. An attempt that still fails is an *error*, not a failure: errors are
  excluded from the ASR and counted separately.
"""
from __future__ import annotations

import fcntl
import json
import os
import random
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterator, TextIO

from .detectors.interface import DetectContext, DetectorError
from .errors import MeasureError, UsageError
from .hashing import short_hash
from .results import AttackCount, build_results, write_json_atomic
from .suite import Attack, Suite, new_canary
from .targets.interface import Request, Target, TargetError

TRANSCRIPT = "transcript.jsonl"
RESULTS = "results.json"
RUN_META = "run.json"
LOCK = ".lock"


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
    sequential: Any = None               # reserved for the group-sequential mode


class RateLimiter:
    """Token bucket shared by all workers: at most `per_minute` calls per minute, smoothly spaced."""

    def __init__(self, per_minute: float | None):
        self.interval = 60.0 / per_minute if per_minute else 0.0
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def acquire(self, stop: threading.Event) -> bool:
        if not self.interval:
            return True
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self.interval
        delay = slot - time.monotonic()
        return not (delay > 0 and stop.wait(delay))


class _Abandon(Exception):
    """The attempt was not finished (stop requested, call budget reached): run it again on resume."""


@dataclass
class _State:
    counts: dict[str, AttackCount]
    calls: int = 0
    finished: int = 0
    errors: int = 0
    successes: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    error_kinds: Counter = field(default_factory=Counter)
    stop_reason: str | None = None


def shard_attacks(attacks: tuple[Attack, ...], shard: tuple[int, int] | None) -> tuple[Attack, ...]:
    """Deterministic split: order by a hash of the id (spreads categories), take every n-th."""
    if not shard:
        return attacks
    i, n = shard
    ordered = sorted(attacks, key=lambda a: (short_hash(a.id, 16), a.id))
    keep = {a.id for k, a in enumerate(ordered) if k % n == i - 1}
    return tuple(a for a in attacks if a.id in keep)


def plan(attacks: tuple[Attack, ...], attempts: Callable[[Attack], int]) -> Iterator[tuple[Attack, int]]:
    """Interleaved order: attempt j of every attack before attempt j+1 of any."""
    most = max((attempts(a) for a in attacks), default=0)
    for j in range(most):
        for a in attacks:
            if j < attempts(a):
                yield a, j


class OutputDir:
    """An output directory held with an exclusive lock for the duration of a run."""

    def __init__(self, path: str):
        self.path = path
        os.makedirs(path, exist_ok=True)
        self._fh = open(os.path.join(path, LOCK), "w")
        try:
            fcntl.flock(self._fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._fh.close()
            raise UsageError(f"{path}: another asr-gate run is writing this output directory") from None

    def file(self, name: str) -> str:
        return os.path.join(self.path, name)

    def close(self) -> None:
        fcntl.flock(self._fh, fcntl.LOCK_UN)
        self._fh.close()


def read_transcript(path: str) -> list[dict[str, Any]]:
    """Records of a transcript; a truncated last line (a kill mid-write) is cut off the file."""
    if not os.path.exists(path):
        return []
    records = []
    good_end = 0
    with open(path, "rb") as fh:
        data = fh.read()
    pos = 0
    lineno = 0
    while pos < len(data):
        end = data.find(b"\n", pos)
        if end == -1:  # no newline: a partial last write
            break
        lineno += 1
        line = data[pos:end]
        pos = end + 1
        if not line.strip():
            good_end = pos
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            if pos >= len(data):  # damaged last line: drop it
                break
            raise UsageError(f"{path}:{lineno}: transcript line is not valid JSON; cannot resume safely") from None
        records.append(rec)
        good_end = pos
    if good_end < len(data):
        with open(path, "r+b") as fh:
            fh.truncate(good_end)
    return records


def _scrub(text: str, secrets: list[str]) -> str:
    for s in secrets:
        if s and s in text:
            text = text.replace(s, "***")
    return text


class _Progress:
    """A live bar on a TTY; a plain line every few seconds elsewhere (CI logs)."""

    def __init__(self, stream: TextIO | None, total: int, done: int, interval: float):
        self.stream = stream
        self.total = total
        self.start_done = done
        self.tty = bool(stream) and hasattr(stream, "isatty") and stream.isatty()
        self.interval = 0.2 if self.tty else interval
        self.t0 = time.monotonic()
        self.last = 0.0

    def update(self, st: _State, force: bool = False) -> None:
        if not self.stream:
            return
        now = time.monotonic()
        if not force and now - self.last < self.interval:
            return
        self.last = now
        done = st.finished
        judged = done - st.errors
        asr = f"{st.successes / judged:6.1%}" if judged else "   n/a"
        rate = (done - self.start_done) / max(now - self.t0, 1e-9)
        pct = done / self.total if self.total else 1.0
        if self.tty:
            width = 28
            bar = "#" * int(pct * width) + "-" * (width - int(pct * width))
            self.stream.write(f"\r[{bar}] {done}/{self.total} {pct:4.0%}  ASR {asr}  errors {st.errors}  {rate:5.1f}/s ")
            if force:
                self.stream.write("\n")
        else:
            self.stream.write(f"progress: {done}/{self.total} attempts ({pct:.0%}), ASR so far {asr.strip()}, "
                              f"errors {st.errors}, {rate:.1f} attempts/s\n")
        self.stream.flush()


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def run_suite(suite: Suite, target: Target, out_dir: str, options: RunOptions | None = None) -> dict[str, Any]:
    """Run every planned attempt (or what remains of it) and return the results dict.

    Raises MeasureError (exit 3) when the error or call budget stops the run; results.json and the
    transcript are written first, so `--resume` can finish it.
    """
    opts = options or RunOptions()
    attacks = shard_attacks(suite.attacks, opts.shard)
    n_of = (lambda a: opts.attempts) if opts.attempts else (lambda a: a.attempts)
    planned = sum(n_of(a) for a in attacks)
    shard_label = f"{opts.shard[0]}/{opts.shard[1]}" if opts.shard else None
    meta = {"suite": suite.id, "suite_hash": suite.hash, "detector_hash": suite.detector_hash(),
            "attempts": opts.attempts, "shard": shard_label, "planned": planned,
            "target": short_hash(target.describe(), 16)}

    if target.kind == "sim":
        from .detectors import can_synthesize

        bad = next((a for a in attacks if not can_synthesize(a.detector)), None)
        if bad is not None:
            raise UsageError(f"{suite.path}: attack '{bad.id}' uses an LLM judge, which the simulated target "
                             f"cannot answer for offline; use a real target")

    out = OutputDir(out_dir)
    try:
        transcript_path = out.file(TRANSCRIPT)
        meta_path = out.file(RUN_META)
        started_at = _now()
        if opts.resume and os.path.exists(meta_path):
            with open(meta_path, encoding="utf-8") as fh:
                old = json.load(fh)
            for key in ("suite_hash", "detector_hash", "attempts", "shard", "target"):
                if old.get(key) != meta[key]:
                    raise UsageError(f"{out_dir}: cannot resume: the {key.replace('_', ' ')} differs from the "
                                     f"interrupted run's; use a new --out directory")
            started_at = old.get("started_at", started_at)
            records = read_transcript(transcript_path)
        else:
            if os.path.exists(transcript_path) and os.path.getsize(transcript_path) > 0:
                raise UsageError(f"{out_dir}: holds a previous run's transcript; pass --resume to continue it "
                                 f"or choose another --out")
            records = []
        meta["started_at"] = started_at
        write_json_atomic(meta_path, meta)

        by_id = {a.id: a for a in attacks}
        st = _State(counts={a.id: AttackCount(a.id, a.category, a.hash, n_of(a), prompt_hash=a.prompt_hash)
                            for a in attacks})
        done: set[tuple[str, int]] = set()
        for rec in records:
            key = (rec.get("attack"), rec.get("attempt"))
            if key in done or key[0] not in by_id:
                continue
            done.add(key)
            _count(st, rec)
        st.calls = sum(int(r.get("calls", 1)) for r in records)

        secrets = list(target.secrets())
        for a in attacks:
            fn = getattr(a.detector, "secrets", None)
            if fn:
                secrets += list(fn())
        secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

        todo = ((a, j) for a, j in plan(attacks, n_of) if (a.id, j) not in done)
        lock = threading.Lock()
        stop = threading.Event()
        limiter = RateLimiter(target.requests_per_minute)
        concurrency = max(1, opts.concurrency or target.concurrency)
        backoff_base = opts.backoff_base if opts.backoff_base is not None else float(target.config.get("backoff_base", 0.5))
        t0 = time.monotonic()
        progress = _Progress(opts.progress, planned, st.finished, opts.progress_interval)

        with open(transcript_path, "a", encoding="utf-8") as tfh:
            def next_item() -> tuple[Attack, int] | None:
                with lock:
                    if stop.is_set():
                        return None
                    return next(todo, None)

            def take_call() -> None:
                with lock:
                    if opts.max_calls is not None and st.calls >= opts.max_calls:
                        st.stop_reason = st.stop_reason or (
                            f"call budget of {opts.max_calls} reached; finish with --resume")
                        stop.set()
                        raise _Abandon()
                    st.calls += 1

            def attempt(a: Attack, j: int) -> dict[str, Any]:
                canary = new_canary() if a.uses_canary else None
                ctx = DetectContext(canary=canary, prompt=a.messages[-1].content, attack_id=a.id,
                                    meta={"goal": a.goal} if a.goal else {})
                req = Request(messages=a.render(canary), attack_id=a.id, category=a.category, attempt=j,
                              canary=canary, oracle=lambda s, d=a.detector, c=ctx: d.synthesize(s, c))
                rec: dict[str, Any] = {"attack": a.id, "attempt": j}
                calls = 0
                started = time.monotonic()
                for i in range(target.retries + 1):
                    if stop.is_set() or not limiter.acquire(stop):
                        raise _Abandon()
                    take_call()
                    calls += 1
                    try:
                        reply = target.send(req)
                    except TargetError as exc:
                        delay = min(opts.backoff_cap, backoff_base * 2 ** i) * random.uniform(0.5, 1.0)
                        if exc.retry_after is not None:
                            if exc.retry_after > opts.max_retry_after:
                                rec.update(error=exc.kind, message=f"server asked to wait {exc.retry_after:.0f}s "
                                                                    f"(more than {opts.max_retry_after:.0f}s)")
                                break
                            delay = max(exc.retry_after, 0.0) + random.uniform(0, 0.1)
                        if not exc.retryable or i == target.retries:
                            rec.update(error=exc.kind, message=_scrub(str(exc), secrets)[:300])
                            break
                        if stop.wait(delay):
                            raise _Abandon()
                        continue
                    rec["latency_ms"] = round((time.monotonic() - started) * 1000, 1)
                    rec["tokens"] = [reply.prompt_tokens, reply.completion_tokens]
                    text = _scrub(reply.text or "", secrets)
                    rec["reply"] = text[: opts.reply_chars]
                    if reply.truncated or len(text) > opts.reply_chars:
                        rec["truncated"] = True
                    try:
                        det = a.detector.detect(reply.text or "", ctx)
                        rec["success"] = bool(det.success)
                    except DetectorError as exc:
                        rec.update(error=exc.kind, message=_scrub(str(exc), secrets)[:300])
                    break
                rec["calls"] = calls
                if canary:
                    rec["canary"] = canary
                if "success" not in rec:
                    rec["success"] = None
                return rec

            def worker() -> None:
                while True:
                    item = next_item()
                    if item is None:
                        return
                    try:
                        rec = attempt(*item)
                    except _Abandon:
                        return
                    except Exception as exc:  # a bug in a target/detector must not lose the run
                        rec = {"attack": item[0].id, "attempt": item[1], "success": None,
                               "error": "internal", "message": _scrub(f"{type(exc).__name__}: {exc}", secrets)[:300],
                               "calls": 0}
                    line = json.dumps(rec, ensure_ascii=False) + "\n"
                    with lock:
                        tfh.write(line)
                        tfh.flush()
                        _count(st, rec)
                        if (st.finished >= opts.min_finished_for_budget
                                and st.errors > opts.max_error_rate * st.finished and not stop.is_set()):
                            st.stop_reason = (f"error budget exceeded: {st.errors} of {st.finished} attempts failed "
                                              f"(limit {opts.max_error_rate:.0%}); most common: "
                                              f"{', '.join(f'{k} x{v}' for k, v in st.error_kinds.most_common(3))}")
                            stop.set()

            threads = [threading.Thread(target=worker, name=f"asr-gate-{k}", daemon=True) for k in range(concurrency)]
            for t in threads:
                t.start()
            try:
                for t in threads:
                    while t.is_alive():
                        t.join(timeout=0.2)
                        progress.update(st)
            except KeyboardInterrupt:
                stop.set()
                st.stop_reason = "interrupted; finish with --resume"
                for t in threads:
                    t.join(timeout=5)
            progress.update(st, force=True)

        complete = st.finished == planned
        results = build_results(
            suite=suite, target=target.describe(), counts=st.counts.values(), started_at=started_at,
            finished_at=_now(), duration_s=time.monotonic() - t0, calls=st.calls,
            tokens={"prompt": st.prompt_tokens, "completion": st.completion_tokens},
            error_kinds=st.error_kinds, complete=complete, shard=shard_label)
        write_json_atomic(out.file(RESULTS), results)
    finally:
        out.close()
    if st.stop_reason:
        raise MeasureError(f"run stopped: {st.stop_reason} ({st.finished} of {planned} attempts done; "
                           f"results so far in {out_dir}/{RESULTS})")
    return results


def _count(st: _State, rec: dict[str, Any]) -> None:
    c = st.counts[rec["attack"]]
    st.finished += 1
    tok = rec.get("tokens") or (0, 0)
    st.prompt_tokens += int(tok[0] or 0)
    st.completion_tokens += int(tok[1] or 0)
    if rec.get("error"):
        c.errors += 1
        st.errors += 1
        st.error_kinds[rec["error"]] += 1
    else:
        c.attempts += 1
        if rec.get("success"):
            c.successes += 1
            st.successes += 1


def run_ab(suite: Suite, candidate: Target, baseline: Target, out_dir: str,
           options: RunOptions | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Live A/B: run the baseline and the candidate target at the same time, in the same job.

    Both runs proceed concurrently (their attempts interleave in time), so serving drift, judge
    drift and time-of-day effects hit both arms alike and drop out of the comparison. Returns
    (baseline results, candidate results), written to DIR/baseline and DIR/candidate.
    """
    import dataclasses

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
