"""kind: command — a local program per request: the request as JSON on stdin, the reply on stdout.

    kind: command
    argv: [python3, my_app/attack_harness.py, --model, small]
    cwd: ..                      # relative to this file's directory (default: the current directory)
    env: [MY_APP_API_KEY]        # passed through; everything else except PATH, HOME, locale, TMPDIR is not
    reply_path: answer.text      # optional: stdout is JSON; without it stdout is the reply text
    timeout: 30

stdin receives one JSON object: {"messages": [{"role", "content"}...], "prompt": "<last user turn>",
"attack_id": ..., "category": ..., "attempt": ...}. The program runs without a shell, in its own
process group; when `timeout` expires the whole group is killed and the attempt is a retryable
`timeout`. A non-zero exit is a non-retryable `exit_status` error quoting the last line of stderr.
stdout is read up to `max_reply_bytes` and the rest is drained and discarded, so a runaway program
cannot exhaust memory.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time
from typing import IO, Any, Mapping, Sequence

from .interface import BaseTarget, Reply, Request
from .partial_json import parse_partial_json
from .reply_path import PathMissing, ReplyPath, reply_text_from
from .text import decode_text, one_line

#: environment variables every program gets (when set), besides those listed in `env`
BASE_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TEMP", "TMP", "SYSTEMROOT", "COMSPEC")
#: how much of stderr is kept (the tail) for error messages
STDERR_TAIL_BYTES = 4096
_POSIX = os.name == "posix"


class CommandTarget(BaseTarget):
    kind = "command"

    def __init__(self, config: Mapping[str, Any], **kwargs: Any):
        super().__init__(config, **kwargs)
        self.argv = [str(a) for a in self.config["argv"]]
        self.cwd = self._resolve_cwd()
        self.executable = self._resolve_program()
        self.child_env = {k: os.environ[k] for k in BASE_ENV if k in os.environ}
        for i, name in enumerate(self.config.get("env") or ()):
            if name not in os.environ:
                raise self.config_error(("env", i), f"environment variable {name} is not set")
            self.child_env[name] = self.secret(os.environ[name]) if os.environ[name] else ""
        self.reply_path: ReplyPath | None = None
        if self.config.get("reply_path") is not None:
            try:
                self.reply_path = ReplyPath(str(self.config["reply_path"]))
            except ValueError as exc:
                raise self.config_error(("reply_path",), str(exc)) from None
        self.shown = one_line(" ".join(self.argv), 80)

    def _resolve_cwd(self) -> str | None:
        cwd = self.config.get("cwd")
        if cwd is None:
            return None
        path = self.resolve_path(str(cwd))
        if not os.path.isdir(path):
            raise self.config_error(("cwd",), f"directory {path} does not exist")
        return path

    def _resolve_program(self) -> str:
        prog = self.argv[0]
        if os.sep in prog or (os.altsep and os.altsep in prog):
            path = os.path.join(self.cwd or os.getcwd(), os.path.expanduser(prog))
            if not os.path.isfile(path):
                raise self.config_error(("argv", 0), f"program {prog} not found (looked for {os.path.normpath(path)})")
            if not os.access(path, os.X_OK):
                raise self.config_error(("argv", 0), f"program {prog} is not executable "
                                                     "(chmod +x, or run it through its interpreter: [python3, script.py])")
            return os.path.abspath(path)
        found = shutil.which(prog, path=os.environ.get("PATH"))
        if found is None:
            raise self.config_error(("argv", 0), f"program {prog} not found on PATH")
        return found

    # -- one call

    def deliver(self, request: Request) -> Reply:
        deadline = time.monotonic() + self.timeout
        payload = json.dumps({
            "messages": [m.as_dict() for m in request.messages],
            "prompt": request.prompt,
            "attack_id": request.attack_id,
            "category": request.category,
            "attempt": request.attempt,
        }).encode("ascii") + b"\n"
        try:
            proc = subprocess.Popen(self.argv, executable=self.executable, stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=self.cwd, env=self.child_env,
                                    close_fds=True, start_new_session=_POSIX)
        except OSError as exc:
            raise self.fail(f"cannot start {self.shown}: {exc.strerror or exc}", kind="command",
                            retryable=False) from None
        out = _Reader(proc.stdout, self.max_reply_bytes)
        err = _Reader(proc.stderr, STDERR_TAIL_BYTES, keep_tail=True)
        writer = threading.Thread(target=_write, args=(proc.stdin, payload), daemon=True)
        for t in (out, err, writer):
            t.start()
        timed_out = False
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill(proc)
        # the readers end at EOF; a grandchild still holding the pipes is killed with the group
        for t in (out, err, writer):
            t.join(max(0.0, deadline - time.monotonic()) + 0.5)
        if any(t.is_alive() for t in (out, err)):
            _kill(proc)
            for t in (out, err):
                t.join(2.0)
        for pipe in (proc.stdout, proc.stderr):
            try:
                pipe.close()
            except OSError:
                pass
        if timed_out:
            raise self.fail(f"{self.shown} did not finish within {self.timeout:g}s (killed)", kind="timeout",
                            retryable=True)
        rc = proc.returncode
        if rc != 0:
            why = f"was killed by signal {-rc}" if rc < 0 else f"exited with status {rc}"
            last = _last_line(err.data(), err.truncated, self.scrub_values())
            raise self.fail(f"{self.shown} {why}" + (f": {self.excerpt(last)}" if last else ""), kind="exit_status",
                            retryable=False, status=rc)
        if out.error is not None:
            raise self.fail(f"reading the output of {self.shown} failed: {out.error}", kind="command", retryable=True)
        data, truncated = out.data(), out.truncated
        if self.reply_path is None:
            text = decode_text(data, truncated)
            if not truncated:
                text = text[:-2] if text.endswith("\r\n") else text[:-1] if text.endswith("\n") else text
            return Reply(text=text, truncated=truncated)
        text = decode_text(data, truncated)
        try:
            parsed = parse_partial_json(text) if truncated else json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise self.fail(f"output of {self.shown} is not JSON ({self.excerpt(exc, 80)}); "
                            f"stdout starts: {self.excerpt(text, 120)!r}", kind="bad_response", retryable=True) from None
        try:
            value = self.reply_path.get(parsed)
        except PathMissing as exc:
            if truncated:
                raise self.fail(f"reply_path {self.reply_path.text!r} not within the first {self.max_reply_bytes} "
                                f"bytes of the output of {self.shown}", kind="too_large", retryable=False) from None
            raise self.fail(f"reply_path {self.reply_path.text!r} not found in the output of {self.shown} "
                            f"(no {exc.at!r})", kind="bad_response", retryable=True) from None
        return Reply(text=reply_text_from(value), truncated=truncated, raw=parsed)


class _Reader(threading.Thread):
    """Reads a pipe to EOF, keeping the first `limit` bytes (or the last, with keep_tail)."""

    def __init__(self, pipe: IO[bytes], limit: int, keep_tail: bool = False):
        super().__init__(daemon=True)
        self.pipe = pipe
        self.limit = limit
        self.keep_tail = keep_tail
        self.buf = bytearray()
        self.truncated = False
        self.error: str | None = None

    def run(self) -> None:
        try:
            while True:
                chunk = self.pipe.read1(65536) if hasattr(self.pipe, "read1") else self.pipe.read(65536)
                if not chunk:
                    return
                if self.keep_tail:
                    self.buf += chunk
                    if len(self.buf) > self.limit:
                        del self.buf[: len(self.buf) - self.limit]
                        self.truncated = True
                    continue
                room = self.limit - len(self.buf)
                if room <= 0 or len(chunk) > room:
                    self.truncated = True  # keep draining (discarding) so the child can finish
                    if room > 0:
                        self.buf += chunk[:room]
                    continue
                self.buf += chunk
        except (OSError, ValueError) as exc:  # pipe closed under us after a kill
            if not self.truncated and self.error is None:
                self.error = one_line(str(exc), 80)

    def data(self) -> bytes:
        return bytes(self.buf)


def _write(pipe: IO[bytes], payload: bytes) -> None:
    try:
        pipe.write(payload)
        pipe.flush()
    except (BrokenPipeError, OSError, ValueError):
        pass  # the program does not read stdin: fine
    finally:
        try:
            pipe.close()
        except (BrokenPipeError, OSError, ValueError):
            pass


def _kill(proc: subprocess.Popen) -> None:
    """Kill the program and everything it started (its process group)."""
    if _POSIX:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    try:
        proc.kill()
    except OSError:
        pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


def _last_line(data: bytes, cut_at_head: bool = False, secrets: Sequence[str] = ()) -> str:
    """The last non-blank line of stderr's tail. When the tail was cut at its head, it may start inside a
    secret, whose end no scrub can recognise: the cut first line is dropped, or, when the tail is all one line,
    as many characters as the longest secret has (the end of a secret that started before the tail is shorter)."""
    lines = data.decode("utf-8", "replace").splitlines()
    if cut_at_head and lines:
        lines = lines[1:] if len(lines) > 1 else [lines[0][max((len(s) for s in secrets), default=0):]]
    lines = [ln for ln in lines if ln.strip()]
    return lines[-1] if lines else ""
