"""Start and talk to the Keras workers (one per Keras major version).

The worker (``verifiers/worker/``) runs inside bubblewrap: no network, its own pid/ipc/uts
namespaces, an empty environment, read-only binds of only what Python needs, and a size-limited
tmpfs as scratch. Its template process forks one child per snippet; the child isolates itself
further (own uid, rlimits, seccomp). Several snippets may run at once (the caller bounds how
many). This module never imports TensorFlow.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

from kb.core.errors import SandboxUnavailable, WorkerFailed
from kb.core.settings import Settings
from verifiers.bwrap import PROTOCOL_FILE, SANDBOX_ROOT, WORKER_DIR, bwrap_command, bwrap_path
from verifiers.protocol import SLOT_PREFIX, UID_BASES
from verifiers.validate import failure, parse_reply, result_of
from verifiers.worker.cleanup import remove_tree

STARTUP_TIMEOUT = 180.0
# ``verifiers`` there is a namespace package of just these two: the rest of the project is not bound.
LAUNCH = "import sys; sys.path.insert(0, sys.argv.pop(1)); from verifiers.worker.main import main; main()"


def slots_per_worker(settings: Settings) -> int:
    """Snippets one worker runs at once in its fair queue's slots (the setting, or one per CPU core)."""
    return settings.verify_concurrency or os.cpu_count() or 1


def children_at_once(settings: Settings) -> int:
    """Children one worker may have alive: its slots, plus as many that stepped aside (still running
    at the lowest priority after ``verify_aside_after``, outside the slots). Each has a scratch."""
    slots = slots_per_worker(settings)
    return 2 * slots if settings.verify_aside_after > 0 else slots


class _Generation:
    """One worker process and the replies it still owes."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.pending: dict[int, _Pending] = {}
        self.lock = threading.Lock()
        self.reader: threading.Thread | None = None


class _Pending:
    def __init__(self) -> None:
        self.event = threading.Event()
        self.line: bytes | None = None


class KerasWorker:
    """One warm worker process for one Keras major version; several jobs may run at once."""

    def __init__(self, major: str, settings: Settings) -> None:
        self.major = major
        self.settings = settings
        self.keras_version: str | None = None
        self.uid_isolation = False
        self.jobs = 0
        self.starts = 0
        self._gen: _Generation | None = None
        self._cond = threading.Condition()
        self._inflight = 0
        self._next_id = 0
        self._restart = False
        self._retired = False
        self._local_root: str | None = None  # unsafe-local only: import root and scratch on the host
        self._stderr_path = settings.data_dir / f"worker-keras{major}.log"

    # -- lifecycle -----------------------------------------------------------------------
    def _command(self) -> list[str]:
        """The worker's command line, started at the configured CPU priority (children inherit it)."""
        nice = ["nice", "-n", str(self.settings.verify_nice)] if self.settings.verify_nice else []
        return [*nice, *self._sandboxed_command()]

    def _sandboxed_command(self) -> list[str]:
        as_root = os.geteuid() == 0
        uid_args = [str(UID_BASES[self.major])] if as_root else []
        python = sys.executable
        if self.settings.sandbox == "bwrap":
            if not bwrap_path():
                raise SandboxUnavailable(
                    "bubblewrap (bwrap) is not installed, so untrusted code cannot be run safely: "
                    "install it (apt-get install bubblewrap) or set COURSEBOT_SANDBOX=unsafe-local "
                    "to accept weaker isolation for trusted code."
                )
            sandbox = bwrap_command(self.settings.verify_scratch_mb, as_root, children_at_once(self.settings))
            return [*sandbox, python, "-I", "-c", LAUNCH, SANDBOX_ROOT, self.major, "/scratch", *uid_args]
        root = self._local_root = tempfile.mkdtemp(prefix=f"coursebot-keras{self.major}-")
        os.chmod(root, 0o711)
        os.mkdir(os.path.join(root, "verifiers"))
        os.symlink(WORKER_DIR, os.path.join(root, "verifiers", "worker"))
        os.symlink(PROTOCOL_FILE, os.path.join(root, "verifiers", "protocol.py"))
        scratch = os.path.join(root, "scratch")
        os.mkdir(scratch, 0o711)
        os.chmod(scratch, 0o711)
        for n in range(children_at_once(self.settings)):   # no size limit here
            os.mkdir(os.path.join(scratch, f"{SLOT_PREFIX}{n}"), 0o711)
        return [python, "-I", "-c", LAUNCH, root, self.major, scratch, *uid_args]

    def start(self) -> None:
        with self._cond:
            self._start_locked()

    def _start_locked(self) -> None:
        self._close_locked()
        if self._retired:
            raise WorkerFailed(f"The Keras {self.major} worker was shut down.")
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        stderr = open(self._stderr_path, "ab")  # noqa: SIM115 - handed to the child process
        try:
            proc = subprocess.Popen(
                self._command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                env={"PATH": "/usr/bin:/bin"}, start_new_session=True,
            )
        finally:
            stderr.close()
        gen = self._gen = _Generation(proc)
        self.starts += 1
        hello = _read_hello(proc, STARTUP_TIMEOUT)
        if not hello or not hello.get("ready"):
            tail = self._stderr_tail()
            self._close_locked()
            raise WorkerFailed(f"The Keras {self.major} worker did not start ({tail}).")
        self.keras_version = str(hello.get("keras_version", ""))
        self.uid_isolation = bool(hello.get("uid_isolation"))
        self.jobs = 0
        self._restart = False
        gen.reader = threading.Thread(target=_read_replies, args=(gen,), daemon=True,
                                      name=f"keras{self.major}-replies")
        gen.reader.start()

    def shutdown(self) -> None:
        """Stop the process for good: a job or a start that is under way ends without a new one."""
        self._retired = True
        self.close()

    def close(self) -> None:
        """Stop the worker process. Never raises, and always forgets the process and its scratch."""
        with self._cond:
            self._close_locked()
            self._cond.notify_all()

    def _close_locked(self) -> None:
        gen, self._gen = self._gen, None
        root, self._local_root = self._local_root, None
        if gen is not None:
            with contextlib.suppress(OSError, subprocess.TimeoutExpired):
                gen.proc.kill()
                gen.proc.wait(timeout=10)
            for stream in (gen.proc.stdin, gen.proc.stdout):
                if stream:
                    with contextlib.suppress(OSError):
                        stream.close()
            if gen.reader is not None and gen.reader is not threading.current_thread():
                gen.reader.join(timeout=5)
            _fail_pending(gen)
        if root:
            remove_tree(root)

    @property
    def alive(self) -> bool:
        gen = self._gen
        return gen is not None and gen.proc.poll() is None

    def _needs_start(self) -> bool:
        return self._restart or not self.alive or self.jobs >= self.settings.worker_max_jobs

    # -- jobs ------------------------------------------------------------------------------
    def run(self, code: str, timeout: float | None = None, mem_mb: int | None = None, *,
            retry: bool = True) -> dict[str, Any]:
        """Run one snippet; returns its validated raw result (see ``verifiers/validate.py``)."""
        timeout = self.settings.verify_timeout if timeout is None else timeout
        mem_mb = self.settings.verify_memory_mb if mem_mb is None else mem_mb
        pending = _Pending()
        with self._cond:
            while self._needs_start() and self._inflight > 0:  # let the old process's jobs finish
                self._cond.wait()
            if self._needs_start():
                self._start_locked()
            gen = self._gen
            assert gen is not None and gen.proc.stdin is not None
            self._next_id += 1
            rid = self._next_id
            self.jobs += 1
            self._inflight += 1
            with gen.lock:
                gen.pending[rid] = pending
            request = {"id": rid, "code": code, "timeout": timeout, "mem_mb": mem_mb,
                       "aside_after": self.settings.verify_aside_after}
            try:
                gen.proc.stdin.write((json.dumps(request) + "\n").encode())
                gen.proc.stdin.flush()
            except OSError:
                self._restart = True
                pending.event.set()
        try:
            pending.event.wait(timeout + 30.0)
        finally:
            with self._cond:
                self._inflight -= 1
                with gen.lock:
                    gen.pending.pop(rid, None)
                self._cond.notify_all()
        reply = parse_reply(pending.line) if pending.line is not None else None
        if reply is None or reply.id != rid:
            with self._cond:
                self._restart = True  # the worker itself misbehaved: never reuse it
            return failure("WorkerError", "the Keras worker stopped answering and was restarted")
        if reply.anomaly is not None:  # the worker's own observation, never the snippet's word
            with self._cond:
                self._restart = True
            if reply.anomaly == "fork_hang" and retry:
                return self.run(code, timeout, mem_mb, retry=False)
        return result_of(reply, timeout)

    def _stderr_tail(self) -> str:
        try:
            lines = self._stderr_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "no log"
        useful = [ln for ln in lines if "cuda" not in ln.lower() and "absl" not in ln]
        return (useful[-1] if useful else "no message")[-300:]


def _read_hello(proc: subprocess.Popen[bytes], timeout: float) -> dict[str, Any] | None:
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    deadline = time.monotonic() + timeout
    line = b""
    while not line.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        byte = os.read(fd, 1)  # one byte at a time: the reader thread takes over after the line
        if not byte or len(line) > 4096:
            return None
        line += byte
    try:
        data = json.loads(line)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _read_replies(gen: _Generation) -> None:
    """Route each reply line to the job waiting for it; on EOF release every waiting job."""
    stream = gen.proc.stdout
    assert stream is not None
    buffer = b""
    try:
        fd = stream.fileno()
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                _deliver(gen, line)
            if len(buffer) > 4 << 20:
                break  # no honest reply is that long
    except (OSError, ValueError):
        pass
    _fail_pending(gen)


def _deliver(gen: _Generation, line: bytes) -> None:
    reply = parse_reply(line)
    if reply is None:
        return
    with gen.lock:
        pending = gen.pending.get(reply.id)
    if pending is not None:
        pending.line = line
        pending.event.set()


def _fail_pending(gen: _Generation) -> None:
    with gen.lock:
        waiting = list(gen.pending.values())
    for pending in waiting:
        pending.event.set()
