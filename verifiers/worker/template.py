"""The template process: imports TensorFlow once, then only forks children and reaps them.

It never receives a snippet's code or result (the code waits in the job folder, the result goes
from the child straight to the dispatcher through a pipe whose write end arrives here as an fd and
is closed right after the fork), so a child inherits no earlier job's data.

Messages on the seqpacket socket (JSON), dispatcher -> template: a ``Spawn`` (with one fd) or
``{"kill": seq}``; template -> dispatcher: the ``Hello``, ``{"seq", "pid"}``, ``{"seq", "exit"}``.

A child still running ``aside_after`` seconds after its fork is moved to the lowest CPU priority
(its whole process group, every thread), so that a long or looping snippet never slows the snippets
started after it by more than the CPU they leave idle.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import time
from typing import cast

from verifiers.protocol import LOWEST_PRIORITY, Hello, Spawn
from verifiers.worker.child import run_child
from verifiers.worker.keras_setup import setup_keras


def _send(sock: socket.socket, message: dict[str, object]) -> None:
    sock.send(json.dumps(message).encode())


def serve(sock: socket.socket, major: str, uid_isolation: bool) -> None:
    mods = setup_keras(major)
    import pyseccomp  # noqa: F401  (import before forking: children cannot load libraries)

    hello: Hello = {"ready": True, "keras_version": mods.keras.__version__,
                    "tf_version": mods.tf.__version__, "uid_isolation": uid_isolation}
    _send(sock, dict(hello))
    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    children: dict[int, int] = {}  # pid -> seq
    due: dict[int, float] = {}  # pid -> when it is demoted, for children not yet demoted
    while True:
        wait = max(0.0, min(due.values()) - time.monotonic()) if due else None
        ready, _, _ = select.select([sock.fileno(), wake_r], [], [], wait)
        if wake_r in ready:
            with contextlib.suppress(BlockingIOError):
                os.read(wake_r, 4096)
        _reap(sock, children)
        _demote(children, due)
        if sock.fileno() not in ready:
            continue
        message, fds, _, _ = socket.recv_fds(sock, 65536, 1)
        if not message:
            return  # the dispatcher is gone
        request = json.loads(message)
        if "kill" in request:
            for pid, seq in children.items():
                if seq == request["kill"]:
                    for kill in (os.killpg, os.kill):
                        with contextlib.suppress(OSError):
                            kill(pid, signal.SIGKILL)
            continue
        spec = cast(Spawn, request)
        if len(fds) != 1:
            for fd in fds:
                os.close(fd)
            _send(sock, {"seq": spec["seq"], "exit": -1})
            continue
        pid = os.fork()
        if pid == 0:
            try:
                sock.close()
                run_child(spec, fds[0], mods, major)
            finally:
                os._exit(0)
        os.close(fds[0])
        children[pid] = spec["seq"]
        if spec.get("aside_after", 0) > 0:
            due[pid] = time.monotonic() + spec["aside_after"]
        _send(sock, {"seq": spec["seq"], "pid": pid})


def _demote(children: dict[int, int], due: dict[int, float]) -> None:
    """Lowest CPU priority for each live child whose time has come (forgotten once reaped)."""
    now = time.monotonic()
    for pid, when in list(due.items()):
        if pid not in children:
            del due[pid]
        elif when <= now:
            del due[pid]
            # The child called setpgid(0, 0) first thing: its pid is its process group, and PRIO_PGRP
            # reaches every thread of every process in it (nice is per thread on Linux).
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PGRP, pid, LOWEST_PRIORITY)


def _reap(sock: socket.socket, children: dict[int, int]) -> None:
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        seq = children.pop(pid, None)
        if seq is not None:
            _send(sock, {"seq": seq, "exit": status})
