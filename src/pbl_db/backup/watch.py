"""Which files a running pg_dump has finished: Linux inotify's IN_CLOSE_WRITE on its output
directory, so pbl can compress and hash each one while pg_dump writes the next. Elsewhere (or if
inotify is unavailable) nothing is reported early and the caller handles every file at the end.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import select
import struct
import threading
from collections.abc import Callable
from pathlib import Path

IN_CLOSE_WRITE = 0x00000008
_EVENT = struct.Struct("iIII")


class ClosedFiles:
    """Calls on_closed(path) from a thread of its own for every file closed after writing in
    `directory` (not below it), from start() until stop(), which reports what is still queued."""

    def __init__(self, directory: Path, on_closed: Callable[[Path], None]) -> None:
        self.directory = directory
        self.on_closed = on_closed
        self.available = False
        self._fd = -1
        self._stop_r, self._stop_w = -1, -1
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def start(self) -> None:
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
            fd = libc.inotify_init1(os.O_CLOEXEC | os.O_NONBLOCK)
            if fd < 0:
                return
            if libc.inotify_add_watch(fd, os.fsencode(self.directory), IN_CLOSE_WRITE) < 0:
                os.close(fd)
                return
        except (OSError, AttributeError):
            return
        self._fd = fd
        self._stop_r, self._stop_w = os.pipe()
        self.available = True
        self._thread = threading.Thread(target=self._run, name="pbl-closed-files", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while True:
                ready, _, _ = select.select([self._fd, self._stop_r], [], [])
                if self._fd in ready:
                    self._drain()
                if self._stop_r in ready:
                    self._drain()
                    return
        except BaseException as exc:  # reported by stop()
            self.error = exc

    def _drain(self) -> None:
        while True:
            try:
                buf = os.read(self._fd, 64 * 1024)
            except BlockingIOError:
                return
            offset = 0
            while offset < len(buf):
                _, mask, _, length = _EVENT.unpack_from(buf, offset)
                raw = buf[offset + _EVENT.size : offset + _EVENT.size + length]
                offset += _EVENT.size + length
                name = raw.rstrip(b"\0")
                if mask & IN_CLOSE_WRITE and name:
                    self.on_closed(self.directory / os.fsdecode(name))

    def stop(self) -> None:
        """Report what is queued, then stop; re-raises what on_closed raised."""
        if self._thread is not None:
            os.write(self._stop_w, b"x")
            self._thread.join()
            self._thread = None
        for fd in (self._fd, self._stop_r, self._stop_w):
            if fd >= 0:
                os.close(fd)
        self._fd = self._stop_r = self._stop_w = -1
        if self.error is not None:
            raise self.error
