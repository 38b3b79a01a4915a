"""Which attempt runs next, and how fast: shards, looks, the interleaved plan, the rate limit.

Attempts are interleaved across attacks (attempt 0 of every attack, then attempt 1, ...), so a run
that stops early is still balanced: every attack has about the same number of attempts. In
sequential mode the attacks are split into the design's looks, and look k+1 starts only after
every attempt of look k has finished and the stopping rule said to go on (docs/statistics.md §3.8).
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable, Iterator

from ..errors import UsageError
from ..hashing import short_hash
from ..suite import Attack


def attempts_per_attack(override: int | None) -> Callable[[Attack], int]:
    """How many attempts each attack gets: `--attempts` for all of them, else each attack's own."""
    return (lambda a: override) if override else (lambda a: a.attempts)


def shard_attacks(attacks: tuple[Attack, ...], shard: tuple[int, int] | None) -> tuple[Attack, ...]:
    """Deterministic split: order by a hash of the id (spreads categories), take every n-th."""
    if not shard:
        return attacks
    i, n = shard
    ordered = sorted(attacks, key=lambda a: (short_hash(a.id, 16), a.id))
    keep = {a.id for k, a in enumerate(ordered) if k % n == i - 1}
    return tuple(a for a in attacks if a.id in keep)


def looks_of(attacks: tuple[Attack, ...], design: Any, shard: tuple[int, int] | None) -> list[tuple[Attack, ...]]:
    """The attacks of each look: one look of every attack without a sequential design, else the design's
    looks in its stratified order (UsageError when the design does not fit the run)."""
    if design is None:
        return [attacks]
    if shard:
        raise UsageError("sequential mode cannot be combined with --shard: every look needs the whole suite")
    by_id = {a.id: a for a in attacks}
    if sorted(design.order) != sorted(by_id):
        raise UsageError("the sequential design was made for other attacks than the suite's")
    bounds = (0,) + tuple(design.cuts)
    return [tuple(by_id[i] for i in design.order[bounds[k]:bounds[k + 1]]) for k in range(len(design.cuts))]


def plan(attacks: tuple[Attack, ...], attempts: Callable[[Attack], int]) -> Iterator[tuple[Attack, int]]:
    """Interleaved order: attempt j of every attack before attempt j+1 of any."""
    most = max((attempts(a) for a in attacks), default=0)
    for j in range(most):
        for a in attacks:
            if j < attempts(a):
                yield a, j


class Schedule:
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
