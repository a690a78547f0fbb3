"""The dispatcher: the worker's first process, one per Keras major version (see ``__init__``).

Run as ``python -I -c "...main()" MAJOR SCRATCH [UID_BASE]``; speaks ``verifiers/protocol.py``
on stdin/stdout. Several jobs run at once (the service bounds how many); each gets a uid no live
child has, its own folder, and a thread here that reads its result pipe until the deadline.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO, cast

from verifiers.protocol import (
    CODE_CAP,
    RESULT_CAP,
    SLOT_PREFIX,
    UID_BLOCK,
    Anomaly,
    Outcome,
    Reply,
    Request,
    Spawn,
)
from verifiers.worker.cleanup import remove_tree

EXIT_WAIT = 10.0  # seconds to wait for a killed child to be reaped


class _Job:
    def __init__(self) -> None:
        self.pid: int | None = None
        self.status: int | None = None
        self.event = threading.Event()


class UidPool:
    """Hands out uids in rotation; one comes back only after its child is reaped and its folder gone."""

    def __init__(self, base: int | None) -> None:
        self.base = base
        self._free = list(range(UID_BLOCK)) if base is not None else []
        self._lock = threading.Lock()

    def take(self) -> int | None:
        if self.base is None:
            return None
        with self._lock:
            if not self._free:
                raise RuntimeError("no free uid")
            return self.base + self._free.pop(0)

    def give(self, uid: int | None) -> None:
        if uid is not None and self.base is not None:
            with self._lock:
                self._free.append(uid - self.base)


class SlotPool:
    """The scratch slots (one size-limited tmpfs each): a job holds one for its whole life, so a
    snippet can fill only its own slot. A slot comes back only once its job folder is gone."""

    def __init__(self, scratch: str) -> None:
        names = sorted(n for n in os.listdir(scratch) if n.startswith(SLOT_PREFIX))
        self._free = [os.path.join(scratch, n) for n in names] or [scratch]
        self.shared = not names   # no slots (an older sandbox): every job shares the scratch
        self._cond = threading.Condition()

    def take(self) -> str:
        with self._cond:
            if self.shared:
                return self._free[0]
            while not self._free:   # the service runs at most as many jobs as there are slots
                self._cond.wait()
            return self._free.pop(0)

    def give(self, slot: str) -> None:
        if not self.shared:
            with self._cond:
                self._free.append(slot)
                self._cond.notify()


class Dispatcher:
    def __init__(self, sock: socket.socket, scratch: str, uids: UidPool, out: TextIO) -> None:
        self.sock = sock
        self.scratch = scratch
        self.slots = SlotPool(scratch)
        self.uids = uids
        self.out = out
        self.jobs: dict[int, _Job] = {}
        self.lock = threading.Lock()
        self.seq = 0
        self.template_alive = True

    # -- template messages ------------------------------------------------------------------
    def listen(self) -> None:
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                break
            message = json.loads(data)
            with self.lock:
                job = self.jobs.get(message.get("seq"))
            if job is None:
                continue
            if "pid" in message:
                job.pid = message["pid"]
            else:
                job.status = message["exit"]
            job.event.set()
        self.template_alive = False
        with self.lock:
            for job in self.jobs.values():
                job.event.set()

    # -- one job ------------------------------------------------------------------------------
    def run(self, request: Request) -> None:
        slot = self.slots.take()
        started = time.monotonic()
        jobdir = ""
        try:
            with self.lock:
                self.seq += 1
                seq = self.seq
            jobdir = os.path.join(slot, f"job-{seq}")
            outcome, raw, sig, anomaly = self._run(request, started, seq, jobdir)
        except Exception as exc:
            outcome, raw, sig, anomaly = "worker_error", f"{type(exc).__name__}: {exc}"[:300], None, None
            if jobdir and os.path.lexists(jobdir) and not remove_tree(jobdir):
                anomaly = "cleanup"
        if not (jobdir and os.path.lexists(jobdir)):
            self.slots.give(slot)   # a slot whose folder could not be removed stays out (the worker restarts)
        reply: Reply = {"id": request["id"], "outcome": outcome, "raw": raw, "signal": sig,
                        "took_ms": round((time.monotonic() - started) * 1000), "anomaly": anomaly}
        line = json.dumps(reply) + "\n"
        with self.lock:
            self.out.write(line)
            self.out.flush()

    def _run(self, request: Request, started: float, seq: int,
             jobdir: str) -> tuple[Outcome, str, int | None, Anomaly | None]:
        if not self.template_alive:
            return "worker_error", "the worker's template process is gone", None, "template_lost"
        code = request["code"].encode()
        if len(code) > CODE_CAP:
            return "too_large", "", None, None
        job = _Job()
        with self.lock:
            self.jobs[seq] = job
        uid = self.uids.take()
        os.mkdir(jobdir, 0o700)
        fd = os.open(os.path.join(jobdir, "snippet.py"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as source:
            source.write(code)
        if uid is not None:
            os.chown(jobdir, uid, uid)
        r, w = os.pipe()
        spec: Spawn = {"seq": seq, "jobdir": jobdir, "uid": uid, "timeout": float(request["timeout"]),
                       "mem_mb": int(request["mem_mb"]), "aside_after": float(request.get("aside_after", 0.0))}
        try:
            socket.send_fds(self.sock, [json.dumps(spec).encode()], [w])
        finally:
            os.close(w)
        try:
            outcome, raw = self._collect(r, job, started + spec["timeout"])
        finally:
            os.close(r)
        with contextlib.suppress(OSError):
            self.sock.send(json.dumps({"kill": seq}).encode())
        reaped = self._wait(job, lambda: job.status is not None, EXIT_WAIT)
        with self.lock:
            self.jobs.pop(seq, None)
        anomaly: Anomaly | None = None
        if not reaped:
            anomaly = "template_lost"  # the uid may still be in use: never hand it out again
        elif not remove_tree(jobdir):
            anomaly = "cleanup"  # files left behind: the uid stays out of the pool
        else:
            self.uids.give(uid)
        if outcome == "fork_hang":
            anomaly = anomaly or "fork_hang"
        status = job.status if job.status is not None and job.status >= 0 else None
        sig = os.WTERMSIG(status) if status is not None and os.WIFSIGNALED(status) else None
        return outcome, raw, sig, anomaly

    def _collect(self, r: int, job: _Job, deadline: float) -> tuple[Outcome, str]:
        """Read the child's pipe until EOF, the deadline or the size cap."""
        chunks: list[bytes] = []
        size = 0
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                started = bool(chunks) and chunks[0].startswith(b"S")
                return ("timeout" if started else "fork_hang"), ""
            ready, _, _ = select.select([r], [], [], min(left, 1.0))
            if not ready:
                continue
            chunk = os.read(r, 65536)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > RESULT_CAP:
                return "too_large", ""
        data = b"".join(chunks)
        if not data.startswith(b"S"):
            return "no_result", data[1:300].decode(errors="replace") if data.startswith(b"X") else ""
        if len(data) == 1:
            return "no_result", ""
        return "done", data[1:].decode(errors="replace")

    @staticmethod
    def _wait(job: _Job, check: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not check():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            job.event.wait(min(left, 0.5))
            job.event.clear()
        return True


def _can_switch_uid() -> bool:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("CapEff:"):
                    caps = int(line.split()[1], 16)
                    return bool(caps & (1 << 6)) and bool(caps & (1 << 7))  # SETGID, SETUID
    except OSError:
        pass
    return False


def _group_priority() -> None:
    """Give the worker's CPU scheduling group its own nice value (set by COURSEBOT_VERIFY_NICE).

    With autogroups (Linux's default) the kernel shares the CPU between sessions first, weighing
    each session's group by the group's nice value, not by its processes'. The service starts every
    worker in a session of its own (``start_new_session``, and bubblewrap's ``--new-session``), never
    in the app's, so its nice value alone would change nothing against the app.
    """
    nice = os.nice(0)
    if nice <= 0:
        return
    for _ in range(5):   # without CAP_SYS_ADMIN the kernel allows one change per 100 ms, machine-wide
        try:
            with open("/proc/self/autogroup", "w") as group:
                group.write(str(nice))
            return
        except BlockingIOError:
            time.sleep(0.15)
        except OSError:
            return   # no autogroups on this kernel


def main() -> None:
    major, scratch = sys.argv[1], sys.argv[2]
    _group_priority()
    uid_base = int(sys.argv[3]) if len(sys.argv) > 3 and _can_switch_uid() else None
    proto_out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # library chatter goes to stderr, never into the protocol stream
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    pid = os.fork()
    if pid == 0:  # the template: imports TensorFlow, then only forks
        try:
            ours.close()
            proto_out.close()
            os.dup2(os.open(os.devnull, os.O_RDONLY), 0)  # the requests are not the template's business
            from verifiers.worker.template import serve

            serve(theirs, major, uid_base is not None)
        finally:
            os._exit(0)
    theirs.close()
    hello = json.loads(ours.recv(65536) or b"{}")
    proto_out.write(json.dumps(hello) + "\n")
    dispatcher = Dispatcher(ours, scratch, UidPool(uid_base), proto_out)
    threading.Thread(target=dispatcher.listen, daemon=True).start()
    for line in sys.stdin:
        if line.strip():
            request = cast(Request, json.loads(line))
            threading.Thread(target=dispatcher.run, args=(request,), daemon=True).start()
    ours.close()
