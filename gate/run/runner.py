"""Run a suite against a target: bounded concurrency, rate limits, retries, transcript, resume.

Design choices, and why:
* Threads + one pooled `requests.Session` per target: model calls are I/O bound, and a thread per
  in-flight request keeps every target implementation a plain blocking function.
* Attempts are interleaved across attacks (attempt 0 of every attack, then attempt 1, ...), so a
  run that stops early is still balanced: every attack has about the same number of attempts.
* The transcript is the source of truth. Each finished attempt is appended as one JSON line with a
  single `os.write` on an O_APPEND descriptor: no user-space buffer to flush, so the line is in the
  kernel (it survives a kill of the process) before the next attempt starts, and no lock is held
  during the system call (appends of one line are atomic, so workers never interleave). results.json
  is recomputed from it. A killed run resumes from the transcript without repeating or losing an
  attempt (in-flight attempts at the kill are simply run again).
* The HTTP targets send through the urllib3 pool of their `requests.Session` (see
  gate/targets/http.py): at C = 256 and 100 ms latency the per-attempt CPU, not the endpoint, is
  the limit of a threaded client, so every per-attempt cost here is kept small (bench/throughput.py).
* Sequential mode (`options.sequential`, a `gate.sequential.Design`): attacks run look by look in
  the design's stratified order; after the last attempt of a look the group-sequential rule decides
  whether to stop (no attempt of a later look is started before that). results.json records
  `sequential: {look, decision, attacks_run, ...}` and leaves out the attacks never run.
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
    sequential: Any = None               # a gate.sequential.Design: run look by look, stop early


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
    finished_now: int = 0                        # attempts finished by this invocation (budgets)
    errors_now: int = 0
    retried_errors: int = 0                      # errored attempts of an earlier invocation, re-run
    looks: list = field(default_factory=list)   # sequential: LookResult per evaluated look
    decision: Any = None                         # sequential: the LookResult that ended the run


class _Schedule:
    """Hands out (attack, attempt) pairs: the interleaved plan of each look in turn.

    Without a sequential design there is one look holding every attack. With one, look k+1 starts
    only when every attempt of look k has finished and `on_look(k)` (called under the run's lock)
    said to go on; workers that find the current look handed out but unfinished wait for it.
    """

    def __init__(self, looks: list[tuple[Attack, ...]], n_of: Callable[[Attack], int], done: set,
                 on_look: Callable[[int], bool] | None):
        self.looks = looks
        self.n_of = n_of
        self.done = done
        self.on_look = on_look
        self.look_of = {a.id: k for k, look in enumerate(looks) for a in look}
        self.remaining = [sum(n_of(a) for a in look) - sum(1 for a in look for j in range(n_of(a)) if (a.id, j) in done)
                          for look in looks]
        self.k = 0
        self.closed = False
        self.it = self._items(0)

    def _items(self, k: int) -> Iterator[tuple[Attack, int]]:
        done = self.done
        return ((a, j) for a, j in plan(self.looks[k], self.n_of) if (a.id, j) not in done)

    def next(self, stop: threading.Event, cond: threading.Condition) -> tuple[Attack, int] | None:
        """The next item, or None when there is nothing more to run (call with `cond` held)."""
        while not stop.is_set() and not self.closed:
            item = next(self.it, None)
            if item is not None:
                return item
            if self.on_look is None:
                return None
            if self.remaining[self.k] > 0:
                cond.wait(0.25)  # the look's last attempts are still running
                continue
            if self.on_look(self.k) or self.k + 1 >= len(self.looks):
                self.closed = True
                cond.notify_all()
                return None
            self.k += 1
            self.it = self._items(self.k)
            cond.notify_all()
        return None

    def finished(self, attack_id: str, cond: threading.Condition) -> None:
        """One attempt of `attack_id` is in the transcript (call with `cond` held)."""
        k = self.look_of[attack_id]
        self.remaining[k] -= 1
        if self.remaining[k] == 0 and self.on_look is not None:
            cond.notify_all()


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
    return [rec for _, rec in read_transcript_lines(path)]


def read_transcript_lines(path: str) -> list[tuple[int, Any]]:
    """(line number, record) pairs of a transcript; a truncated last line is cut off the file."""
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
        records.append((lineno, rec))
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
    design = opts.sequential
    looks: list[tuple[Attack, ...]] = [attacks]
    if design is not None:
        if opts.shard:
            raise UsageError("sequential mode cannot be combined with --shard: every look needs the whole suite")
        by_id = {a.id: a for a in attacks}
        if sorted(design.order) != sorted(by_id):
            raise UsageError("the sequential design was made for other attacks than the suite's")
        bounds = (0,) + tuple(design.cuts)
        looks = [tuple(by_id[i] for i in design.order[bounds[k]:bounds[k + 1]]) for k in range(len(design.cuts))]
        from . import sequential as _seq, stats as _stats  # noqa: F401  (scipy now, not under the lock)
    meta = {"suite": suite.id, "suite_hash": suite.hash, "detector_hash": suite.detector_hash(),
            "attempts": opts.attempts, "shard": shard_label, "planned": planned,
            "target": short_hash(target.describe(), 16),
            "sequential": _design_hash(design) if design is not None else None}

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
            for key in ("suite_hash", "detector_hash", "attempts", "shard", "target", "sequential"):
                if old.get(key) != meta[key]:
                    what = ("sequential design (baseline, policy or seed)" if key == "sequential"
                            else key.replace("_", " "))
                    raise UsageError(f"{out_dir}: cannot resume: the {what} differs from the "
                                     f"interrupted run's; use a new --out directory")
            started_at = old.get("started_at", started_at)
            records = read_transcript_lines(transcript_path)
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
        # the latest record of an attempt wins: a resumed run re-runs attempts that ended in an error
        # (an outage should not poison the run for good) and appends their new outcome
        latest: dict[tuple[str, int], dict[str, Any]] = {}
        for lineno, rec in records:
            key = _check_record(transcript_path, lineno, rec, by_id, n_of)
            latest[key] = rec
            st.calls += int(rec.get("calls", 1) or 0)
        done: set[tuple[str, int]] = set()
        retried = 0
        for key, rec in latest.items():
            if rec.get("error"):
                retried += 1
                continue
            done.add(key)
            _count(st, rec)
        st.retried_errors = retried
        del records, latest
        calls_before = st.calls

        secrets = list(target.secrets())
        for a in attacks:
            fn = getattr(a.detector, "secrets", None)
            if fn:
                secrets += list(fn())
        secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

        lock = threading.Lock()
        cond = threading.Condition(lock)
        stop = threading.Event()

        def on_look(k: int) -> bool:
            """Sequential: look k (0-based) is complete; True stops the run. Called with the lock held."""
            from .sequential import evaluate

            res = evaluate({aid: (c.successes, c.attempts) for aid, c in st.counts.items()}, k, design)
            st.looks.append(res)
            if res.decision != "continue":
                st.decision = res
                return True
            return False

        sched = _Schedule(looks, n_of, done, on_look if design is not None else None)
        limiter = RateLimiter(target.requests_per_minute)
        concurrency = max(1, opts.concurrency or target.concurrency)
        backoff_base = opts.backoff_base if opts.backoff_base is not None else float(target.config.get("backoff_base", 0.5))
        t0 = time.monotonic()
        progress = _Progress(opts.progress, planned, st.finished, opts.progress_interval)
        rpm_limited = limiter.interval > 0
        retries = target.retries
        reply_chars = opts.reply_chars
        send = target.send

        # results.json's intervals need gate.stats (numpy + scipy: ~0.5 s of imports). Load it while
        # the workers wait on the network instead of after the last attempt.
        threading.Thread(target=_preload_stats, name="asr-gate-preload", daemon=True).start()
        fd = os.open(transcript_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            def write_line(data: bytes) -> None:
                while data:  # a regular file takes the whole line in one call; loop for the pathological case
                    data = data[os.write(fd, data):]

            def account(item: tuple[Attack, int], rec: dict[str, Any]) -> None:
                """Count a finished attempt (its line is in the transcript). Call with `cond` held."""
                _count(st, rec)
                st.finished_now += 1
                st.errors_now += bool(rec.get("error"))
                sched.finished(item[0].id, cond)
                # the budgets judge this invocation: errors of an earlier one were before a resume
                if (st.finished_now >= opts.min_finished_for_budget
                        and st.errors_now > opts.max_error_rate * st.finished_now and not stop.is_set()):
                    st.stop_reason = (f"error budget exceeded: {st.errors_now} of {st.finished_now} attempts failed "
                                      f"(limit {opts.max_error_rate:.0%}); most common: "
                                      f"{', '.join(f'{k} x{v}' for k, v in st.error_kinds.most_common(3))}")
                    stop.set()
                    cond.notify_all()

            def take_call() -> None:
                with lock:
                    if opts.max_calls is not None and st.calls - calls_before >= opts.max_calls:
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
                for i in range(retries + 1):
                    if stop.is_set() or (rpm_limited and not limiter.acquire(stop)):
                        raise _Abandon()
                    take_call()
                    calls += 1
                    try:
                        reply = send(req)
                    except TargetError as exc:
                        delay = min(opts.backoff_cap, backoff_base * 2 ** i) * random.uniform(0.5, 1.0)
                        if exc.retry_after is not None:
                            if exc.retry_after > opts.max_retry_after:
                                rec.update(error=exc.kind, message=f"server asked to wait {exc.retry_after:.0f}s "
                                                                    f"(more than {opts.max_retry_after:.0f}s)")
                                break
                            delay = max(exc.retry_after, 0.0) + random.uniform(0, 0.1)
                        if not exc.retryable or i == retries:
                            rec.update(error=exc.kind, message=_scrub(str(exc), secrets)[:300])
                            break
                        if stop.wait(delay):
                            raise _Abandon()
                        continue
                    rec["latency_ms"] = round((time.monotonic() - started) * 1000, 1)
                    rec["tokens"] = [reply.prompt_tokens, reply.completion_tokens]
                    text = reply.text or ""
                    if secrets:
                        text = _scrub(text, secrets)
                    rec["reply"] = text[:reply_chars]
                    if reply.truncated or len(text) > reply_chars:
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
                done_item: tuple[Attack, int] | None = None
                rec: dict[str, Any] = {}
                while True:
                    with cond:  # count the attempt just finished and take the next: one lock acquisition
                        if done_item is not None:
                            account(done_item, rec)
                        item = sched.next(stop, cond)
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
                    # lone surrogates (from \ud800 escapes in a reply) stay JSON escapes: valid UTF-8, same text
                    write_line((json.dumps(rec, ensure_ascii=False) + "\n").encode("utf-8", "backslashreplace"))
                    done_item = item

            todo = sum(sched.remaining)
            n_threads = max(1, min(concurrency, todo))
            _reserve_connections([target] + [a.detector for a in attacks], n_threads)
            threads = [threading.Thread(target=worker, name=f"asr-gate-{k}", daemon=True) for k in range(n_threads)]
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
        finally:
            os.close(fd)

        complete = st.finished == planned
        counts = list(st.counts.values())
        seq_block = None
        if design is not None:
            seq_block = _sequential_block(design, st, planned)
            if st.decision is not None:  # attacks of looks never started are not part of the results
                ran = set(design.order[: design.cuts[st.decision.look - 1]])
                counts = [c for c in counts if c.id in ran]
        results = build_results(
            suite=suite, target=target.describe(), counts=counts, started_at=started_at,
            finished_at=_now(), duration_s=time.monotonic() - t0, calls=st.calls,
            tokens={"prompt": st.prompt_tokens, "completion": st.completion_tokens},
            error_kinds=st.error_kinds, complete=complete, shard=shard_label, attempts_override=opts.attempts)
        if seq_block is not None:
            results["sequential"] = seq_block
        write_json_atomic(out.file(RESULTS), results)
    finally:
        out.close()
    if st.stop_reason:
        raise MeasureError(f"run stopped: {st.stop_reason} ({st.finished} of {planned} attempts done; "
                           f"results so far in {out_dir}/{RESULTS})")
    return results


def _reserve_connections(roots: list[Any], n: int) -> None:
    """Size the connection pools of the target and of any judge target inside the detectors for n workers."""
    seen: set[int] = set()
    stack = list(roots)
    while stack:
        obj = stack.pop()
        if obj is None or id(obj) in seen:
            continue
        seen.add(id(obj))
        reserve = getattr(obj, "reserve_connections", None)
        if callable(reserve):
            reserve(n)
        stack.append(getattr(obj, "target", None))
        stack.append(getattr(obj, "child", None))
        stack.extend(getattr(obj, "children", None) or ())


def _preload_stats() -> None:
    try:
        from . import stats  # noqa: F401
    except Exception:  # noqa: BLE001 - the import is retried (and reported) where it is needed
        pass


def _design_hash(design: Any) -> str:
    """Identifies a sequential design (order, looks, boundaries, baseline counts) for --resume checks."""
    return short_hash({"design": design.describe(), "order": list(design.order),
                       "baseline": sorted([k, *v] for k, v in design.baseline.items())}, 16)


def _sequential_block(design: Any, st: _State, planned: int) -> dict[str, Any]:
    """results.json `sequential`: the design, every look's statistics and the decision (None while unfinished)."""
    last = st.decision or (st.looks[-1] if st.looks else None)
    look = last.look if last is not None else 0
    attacks_run = design.cuts[look - 1] if look else 0
    return {
        **design.describe(),
        "look": look,
        "decision": st.decision.decision if st.decision is not None else None,
        "stopped_early": bool(st.decision is not None and st.decision.look < design.looks),
        "attacks_run": attacks_run,
        "attempts_planned": planned,
        "attempts_run": st.finished,
        "history": [r.as_dict() for r in st.looks],
    }


def _check_record(path: str, lineno: int, rec: Any, by_id: dict[str, Attack],
                  n_of: Callable[[Attack], int]) -> tuple[str, int]:
    """The (attack, attempt) key of a transcript record, or a located UsageError: a hand-edited or
    foreign line must not be counted (it could push an attack past its planned attempts)."""
    def bad(what: str) -> UsageError:
        return UsageError(f"{path}:{lineno}: {what}; cannot resume safely (use a new --out directory)")

    if not isinstance(rec, dict):
        raise bad("transcript line is not a JSON object")
    aid, j = rec.get("attack"), rec.get("attempt")
    if not isinstance(aid, str) or aid not in by_id:
        raise bad("attack: not an attack of this suite")
    if type(j) is not int or not 0 <= j < n_of(by_id[aid]):
        raise bad(f"attempt: {j!r} is not an attempt index of attack '{aid}' (0..{n_of(by_id[aid]) - 1})")
    if rec.get("success") not in (True, False, None) or not isinstance(rec.get("error") or "", str):
        raise bad("success/error: wrong type")
    if rec.get("success") is None and not rec.get("error"):
        raise bad("record has neither an outcome nor an error")
    return aid, j


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
