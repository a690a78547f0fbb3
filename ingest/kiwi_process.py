"""Kiwi started early in a forked process, so that a one-shot command's imports run meanwhile.

A cold ``coursebot ask`` spends about 0.6 s in Kiwi (0.3 s to build it, 0.3 s for the first analysis,
which loads the language model) and about 0.6 s importing and loading everything else; all of it
holds the GIL, so a thread cannot overlap them, but a second process can. :func:`start` forks a child
right after the command line is parsed; the child builds Kiwi, warms it and then answers
"morphemes of this text" requests over a socket pair until the parent closes it. :func:`tokens`
asks the child; it returns ``None`` when there is no child or the child failed, and the caller then
uses Kiwi in its own process. Only the command-line entry point starts a child (never a library
caller, the app or a test calling ``main``), and only before any thread exists.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
from collections.abc import Callable

_HEADER = struct.Struct("!I")
_child: socket.socket | None = None
_pid = 0


def start(analyse: Callable[[str], list[str]]) -> bool:
    """Fork a child that answers ``analyse(text)``; False when it could not be started."""
    global _child, _pid
    if _child is not None or not hasattr(os, "fork"):
        return _child is not None
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
            _serve(child_end, analyse)
        except BaseException:  # the child must end here whatever happens
            code = 1
        finally:
            os._exit(code)
    child_end.close()
    _child, _pid = parent_end, pid
    return True


def tokens(text: str) -> list[str] | None:
    """The child's answer for ``text``, or None (no child, or it failed: it is then stopped)."""
    global _child
    if _child is None:
        return None
    try:
        _send(_child, text.encode("utf-8"))
        reply = _receive(_child)
        if reply is None:
            raise OSError("the Kiwi process ended")
        out = json.loads(reply)
        if not isinstance(out, list) or not all(isinstance(t, str) for t in out):
            raise OSError("the Kiwi process answered something else")
        return out
    except (OSError, ValueError):
        stop()
        return None


def stop() -> None:
    """End the child (it holds nothing but Kiwi) and reap it."""
    global _child, _pid
    if _child is not None:
        _child.close()
        _child = None
    if _pid:
        try:
            os.kill(_pid, signal.SIGKILL)
            os.waitpid(_pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        _pid = 0


def _serve(conn: socket.socket, analyse: Callable[[str], list[str]]) -> None:
    analyse("파라미터 수")  # build Kiwi and load its language model before the first request
    while (request := _receive(conn)) is not None:
        _send(conn, json.dumps(analyse(request.decode("utf-8")), ensure_ascii=False).encode("utf-8"))


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
