"""Start and talk to the Keras workers (one per Keras major version).

The worker (``verifiers/worker.py``) runs inside bubblewrap: no network, its own pid/ipc/uts
namespaces, an empty environment, read-only binds of only what Python needs, and one writable
scratch folder. It forks one child per snippet; the child isolates itself further (uid, rlimits,
seccomp). This module never imports TensorFlow.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from kb.core.errors import SandboxUnavailable, WorkerFailed
from kb.core.settings import Settings

WORKER_FILE = Path(__file__).with_name("worker.py")
STARTUP_TIMEOUT = 180.0
UID_BASE = 61000  # children run as 61000-61999: unprivileged, owning nothing on the host


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


def _bwrap_command(scratch: str, as_root: bool) -> list[str]:
    # No --die-with-parent: it is PR_SET_PDEATHSIG, which fires when the *thread* that started
    # bwrap ends (verify() starts workers from short-lived threads). The worker instead exits
    # when its stdin (our pipe) closes, which also happens when this process dies.
    cmd = [
        "bwrap", "--new-session", "--clearenv",
        "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
    ]
    if as_root:
        # No user namespace: the worker keeps only the capabilities it needs to drop each child
        # to its own unprivileged uid (so RLIMIT_NPROC applies and the child owns nothing), to
        # hand it its job folder, to kill it and to clean up after it. The child loses them all
        # when it switches uid.
        cmd += ["--cap-drop", "ALL"]
        for cap in ("CAP_SETUID", "CAP_SETGID", "CAP_CHOWN", "CAP_FOWNER", "CAP_DAC_OVERRIDE", "CAP_KILL"):
            cmd += ["--cap-add", cap]
    else:
        cmd += ["--unshare-user"]
    # A private /tmp first: a venv that lives under /tmp is bound on top of it below.
    cmd += ["--perms", "0755", "--tmpfs", "/tmp"]
    # bubblewrap creates missing parent folders with mode 0700, which the child's uid could not
    # cross: create them 0755 first.
    parents: set[str] = {"/etc", "/opt", "/opt/coursebot"}
    for prefix in (sys.base_prefix, sys.prefix, os.path.dirname(os.path.realpath(sys.executable))):
        path = os.path.dirname(os.path.realpath(prefix))
        while path not in ("/", ""):
            parents.add(path)
            path = os.path.dirname(path)
    for parent in sorted(parents, key=lambda p: p.count("/")):
        if not parent.startswith("/usr") and parent != "/tmp":
            cmd += ["--perms", "0755", "--dir", parent]
    cmd += ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib64", "/lib32"):
        if os.path.islink(top):
            cmd += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            cmd += ["--ro-bind", top, top]
    if os.path.exists("/etc/ld.so.cache"):
        cmd += ["--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache"]
    seen: set[str] = set()
    for prefix in (sys.base_prefix, sys.prefix, os.path.dirname(os.path.realpath(sys.executable))):
        real = os.path.realpath(prefix)
        if real.startswith("/usr/") or real in seen:
            continue
        seen.add(real)
        cmd += ["--ro-bind", real, real]
        if prefix != real:
            cmd += ["--ro-bind", real, prefix]
    cmd += [
        "--ro-bind", str(WORKER_FILE), "/opt/coursebot/worker.py",
        "--bind", scratch, "/scratch",
        "--dev", "/dev", "--proc", "/proc",
        "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "HOME", "/scratch",
        "--setenv", "PYTHONDONTWRITEBYTECODE", "1", "--chdir", "/scratch",
    ]
    return cmd


class KerasWorker:
    """One warm worker process for one Keras major version. Thread-safe (one job at a time)."""

    def __init__(self, major: str, settings: Settings) -> None:
        self.major = major
        self.settings = settings
        self.keras_version: str | None = None
        self.uid_isolation = False
        self.jobs = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._scratch: str | None = None
        self._buffer = b""
        self._lock = threading.Lock()
        self._retired = False
        self._stderr_path = settings.data_dir / f"worker-keras{major}.log"

    # -- lifecycle -----------------------------------------------------------------------
    def _command(self, scratch: str) -> list[str]:
        as_root = os.geteuid() == 0
        python = sys.executable
        if self.settings.sandbox == "bwrap":
            if not bwrap_path():
                raise SandboxUnavailable(
                    "bubblewrap (bwrap) is not installed, so untrusted code cannot be run safely: "
                    "install it (apt-get install bubblewrap) or set COURSEBOT_SANDBOX=unsafe-local "
                    "to accept weaker isolation for trusted code."
                )
            args = [python, "-I", "/opt/coursebot/worker.py", self.major, "/scratch"]
            return _bwrap_command(scratch, as_root) + args + ([str(UID_BASE)] if as_root else [])
        return [python, "-I", str(WORKER_FILE), self.major, scratch] + ([str(UID_BASE)] if as_root else [])

    def start(self) -> None:
        self.close()
        if self._retired:
            raise WorkerFailed(f"The Keras {self.major} worker was shut down.")
        self._scratch = tempfile.mkdtemp(prefix=f"coursebot-keras{self.major}-")
        os.chmod(self._scratch, 0o711)
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        stderr = open(self._stderr_path, "ab")  # noqa: SIM115 - handed to the child process
        env = {"PATH": "/usr/bin:/bin"} if self.settings.sandbox == "unsafe-local" else None
        try:
            self._proc = subprocess.Popen(
                self._command(self._scratch), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=stderr, env=env if env is not None else {"PATH": "/usr/bin:/bin"},
                start_new_session=True,
            )
        finally:
            stderr.close()
        self._buffer = b""
        hello = self._read_line(STARTUP_TIMEOUT)
        if not hello or not hello.get("ready"):
            tail = self._stderr_tail()
            self.close()
            raise WorkerFailed(f"The Keras {self.major} worker did not start ({tail}).")
        if self._retired:  # shut down while it was starting: do not leave it running
            self.close()
            raise WorkerFailed(f"The Keras {self.major} worker was shut down.")
        self.keras_version = hello["keras_version"]
        self.uid_isolation = bool(hello.get("uid_isolation"))
        self.jobs = 0

    def shutdown(self) -> None:
        """Stop the process for good: a job or a start that is under way ends without a new one."""
        self._retired = True
        self.close()

    def close(self) -> None:
        if self._proc is not None:
            try:
                self._proc.kill()
                self._proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                pass
            for stream in (self._proc.stdin, self._proc.stdout):
                if stream:
                    stream.close()
            self._proc = None
        if self._scratch:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    # -- jobs ------------------------------------------------------------------------------
    def run(self, code: str, timeout: float | None = None, mem_mb: int | None = None) -> dict[str, Any]:
        """Run one snippet; returns the worker's raw result (see worker.py)."""
        timeout = self.settings.verify_timeout if timeout is None else timeout
        mem_mb = self.settings.verify_memory_mb if mem_mb is None else mem_mb
        with self._lock:
            return self._run_locked(code, timeout, mem_mb, retry=True)

    def _run_locked(self, code: str, timeout: float, mem_mb: int, *, retry: bool) -> dict[str, Any]:
        if not self.alive or self.jobs >= self.settings.worker_max_jobs:
            self.start()
        assert self._proc is not None and self._proc.stdin is not None
        self.jobs += 1
        request = {"id": self.jobs, "code": code, "timeout": timeout, "mem_mb": mem_mb}
        try:
            self._proc.stdin.write((json.dumps(request) + "\n").encode())
            self._proc.stdin.flush()
        except OSError:
            self.close()
            raise WorkerFailed(f"The Keras {self.major} worker stopped unexpectedly; try again.") from None
        reply = self._read_line(timeout + 15.0)
        if not reply or reply.get("id") != request["id"]:
            # The worker itself misbehaved: never reuse it.
            self.close()
            return {
                "ok": False, "models": [], "tensors": [], "layers": [], "stdout": "",
                "error": {"type": "WorkerError", "message": "the Keras worker stopped answering "
                          "and was restarted", "line": None},
            }
        result: dict[str, Any] = reply["result"]
        error_type = (result.get("error") or {}).get("type")
        if error_type in ("WorkerError", "SandboxError", "ForkHang"):
            self.close()  # recycle after any anomaly
            if error_type == "ForkHang" and retry:
                return self._run_locked(code, timeout, mem_mb, retry=False)
        return result

    def _read_line(self, timeout: float) -> dict[str, Any] | None:
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return None
            self._buffer += chunk
            if len(self._buffer) > 4 << 20:
                return None
        line, self._buffer = self._buffer.split(b"\n", 1)
        try:
            data = json.loads(line)
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def _stderr_tail(self) -> str:
        try:
            lines = self._stderr_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "no log"
        useful = [ln for ln in lines if "cuda" not in ln.lower() and "absl" not in ln]
        return (useful[-1] if useful else "no message")[-300:]
