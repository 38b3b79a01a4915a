"""Progress of a run for people: a live bar on a terminal, a plain line every few seconds in CI logs."""
from __future__ import annotations

import time
from typing import TextIO

from .transcript import Tally


class Progress:
    """A live bar on a TTY; a plain line every few seconds elsewhere (CI logs)."""

    def __init__(self, stream: TextIO | None, total: int, done: int, interval: float):
        self.stream = stream
        self.total = total
        self.start_done = done
        self.tty = bool(stream) and hasattr(stream, "isatty") and stream.isatty()
        self.interval = 0.2 if self.tty else interval
        self.t0 = time.monotonic()
        self.last = 0.0

    def update(self, st: Tally, force: bool = False) -> None:
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
