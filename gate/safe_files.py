"""Writing files without following links: every report, output, results and transcript write goes through here.

An output folder can hold links that someone else made: in ``asr-gate publish`` the results artifact comes
from a pull request's own workflow, and a ``report.md`` that links to ``baselines/<suite>.json`` would have
had the baseline overwritten (issue 14). So:

* `write_text` writes a new file next to the destination (``O_CREAT | O_EXCL | O_NOFOLLOW``: never an
  existing file, never through a link) and renames it over the destination. A rename replaces the
  directory entry, so a link (symbolic or hard) at the destination is replaced, never written through.
* `open_append` / `append_text` open with ``O_NOFOLLOW`` (files that grow: the transcript, the history,
  ``GITHUB_OUTPUT``, the job summary); a symbolic link there is a `UsageError` (exit 2), and so is a
  file with another hard link.
* `refuse_links` checks a folder that is about to be read and written (the artifact folder of
  ``publish``): the folder itself and every entry in it must not be a symbolic link.

``O_NOFOLLOW`` guards the last component of a path; the folders above it are the workspace's own.
"""
from __future__ import annotations

import errno
import os
import stat
import uuid

from .errors import UsageError

#: entries `refuse_links` looks at before it gives up (an artifact folder holds a handful of files)
MAX_ENTRIES = 10_000

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def _link_error(path: str, what: str = "a symbolic link") -> UsageError:
    return UsageError(f"{path}: is {what}; asr-gate does not write through links (refusing)")


def open_fd(path: str, flags: int, mode: int = 0o644) -> int:
    """``os.open`` with ``O_NOFOLLOW``; a link at ``path`` is a UsageError instead of ELOOP, and an existing
    regular file with more than one hard link is refused too."""
    try:
        fd = os.open(path, flags | _NOFOLLOW | _CLOEXEC, mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP or (exc.errno == errno.EMLINK and os.path.islink(path)):
            raise _link_error(path) from None
        raise
    try:
        st = os.fstat(fd)
        if stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
            raise _link_error(path, f"a file with {st.st_nlink} hard links")
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_append(path: str) -> int:
    """A descriptor for appending to ``path`` (created if missing), never through a link."""
    return open_fd(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)


def append_text(path: str, text: str) -> None:
    """Append UTF-8 ``text`` to ``path`` (created if missing), never through a link."""
    fd = open_append(path)
    try:
        data = text.encode("utf-8")
        while data:
            data = data[os.write(fd, data):]
    finally:
        os.close(fd)


def write_bytes(path: str, data: bytes, *, fsync: bool = False) -> None:
    """Replace ``path`` with ``data``: a fresh temporary file in the same folder, renamed over ``path``."""
    folder = os.path.dirname(path) or "."
    tmp = os.path.join(folder, f".{os.path.basename(path)}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    fd = open_fd(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        if os.path.isdir(path) and not os.path.islink(path):
            raise IsADirectoryError(errno.EISDIR, "Is a directory", path)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_text(path: str, text: str, *, fsync: bool = False) -> None:
    """`write_bytes` of UTF-8 ``text``."""
    write_bytes(path, text.encode("utf-8"), fsync=fsync)


def refuse_links(folder: str, what: str = "the folder") -> None:
    """UsageError when ``folder`` is a symbolic link or holds one (at any depth)."""
    if os.path.islink(folder):
        raise UsageError(f"{folder}: {what} is a symbolic link; refusing to use it")
    seen = 0
    stack = [folder]
    while stack:
        current = stack.pop()
        try:
            entries = list(os.scandir(current))
        except OSError as exc:
            raise UsageError(f"{current}: cannot list {what} ({exc.strerror or exc})") from None
        for entry in entries:
            seen += 1
            if seen > MAX_ENTRIES:
                raise UsageError(f"{folder}: {what} holds more than {MAX_ENTRIES:,} entries; refusing to use it")
            if entry.is_symlink():
                raise UsageError(f"{entry.path}: {what} contains a symbolic link; refusing to read or write it "
                                 f"(download the artifact into a folder of its own)")
            if entry.is_dir(follow_symlinks=False):
                stack.append(entry.path)
