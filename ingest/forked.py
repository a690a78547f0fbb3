"""Slow-to-load models started early in forked processes, so that a one-shot command's imports run meanwhile.

A cold ``coursebot ask`` spends about 0.6 s building Kiwi (0.3 s for the object, 0.3 s for the first
analysis, which loads its language model) and about 0.6 s importing and loading everything else. All
of it holds the GIL, so threads cannot overlap them, but processes can. :meth:`Helper.start` forks a child right after the command line is parsed;
the child loads its model, warms it and then answers requests over a socket pair until the parent
closes it. :meth:`Helper.ask` returns ``None`` when there is no child or the child failed, and the
caller then uses the model in its own process.

Only the command-line entry point starts children (never a library caller, the app or a test calling
``main``), and only before any thread exists; :func:`stop_all` ends and reaps them.
"""

from __future__ import annotations

import os
import signal
import socket
import struct
from collections.abc import Callable

_HEADER = struct.Struct("!I")


class Helper:
    """One forked child that answers ``serve(request) -> reply`` (bytes both ways)."""

    def __init__(self, name: str, serve: Callable[[bytes], bytes], warm: Callable[[], object]) -> None:
        self.name = name
        self._serve = serve
        self._warm = warm
        self._conn: socket.socket | None = None
        self.pid = 0

    @property
    def running(self) -> bool:
        return self._conn is not None

    def start(self) -> bool:
        """Fork the child; False when it could not be started."""
        if self._conn is not None or not hasattr(os, "fork"):
            return self._conn is not None
        try:
            parent_end, child_end = socket.socketpair()
            pid = os.fork()
        except OSError:
            return False
        if pid == 0:  # the child: never returns into the caller's code
            code = 0
            try:
                parent_end.close()
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the parent; EOF then stops us
                self._warm()
                while (request := _receive(child_end)) is not None:
                    _send(child_end, self._serve(request))
            except BaseException:  # the child must end here whatever happens
                code = 1
            finally:
                os._exit(code)
        child_end.close()
        self._conn, self.pid = parent_end, pid
        _RUNNING.append(self)
        return True

    def ask(self, request: bytes) -> bytes | None:
        """The child's reply, or None (no child, or it failed: it is then stopped)."""
        if self._conn is None:
            return None
        try:
            _send(self._conn, request)
            reply = _receive(self._conn)
            if reply is None:
                raise OSError(f"the {self.name} process ended")
            return reply
        except OSError:
            self.stop()
            return None

    def stop(self) -> None:
        """End the child (it holds nothing but its model) and reap it."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self.pid:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            self.pid = 0
        if self in _RUNNING:
            _RUNNING.remove(self)


_RUNNING: list[Helper] = []


def stop_all() -> None:
    for helper in list(_RUNNING):
        helper.stop()


def _send(conn: socket.socket, payload: bytes) -> None:
    conn.sendall(_HEADER.pack(len(payload)) + payload)


def _receive(conn: socket.socket) -> bytes | None:
    header = _exactly(conn, _HEADER.size)
    if header is None:
        return None
    return _exactly(conn, _HEADER.unpack(header)[0])


def _exactly(conn: socket.socket, n: int) -> bytes | None:
    chunks: list[bytes] = []
    while n:
        chunk = conn.recv(min(n, 1 << 16))
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)
