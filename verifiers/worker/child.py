"""One snippet's process: isolate, run the code, write the result to its pipe, exit.

Forked by the template (which never held any job's data). In order: own session, stdio to
/dev/null, every fd closed but the result pipe, empty environment, the job folder, its own
unprivileged uid, rlimits, no-new-privs + seccomp, an audit hook (friendly refusals only).
"""

from __future__ import annotations

import builtins
import io
import json
import os
import resource
import signal
import sys
import traceback
from typing import Any

from verifiers.protocol import RESULT_CAP, STDOUT_CAP, ChildResult, ErrorDict, Spawn
from verifiers.worker.introspect import introspect
from verifiers.worker.keras_setup import Modules
from verifiers.worker.seccomp import install_audit_hook, install_seccomp

SNIPPET_FILE = "snippet.py"


class CappedText(io.TextIOBase):
    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.parts: list[str] = []
        self.size = 0
        self.truncated = False

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:
        room = self.cap - self.size
        if room > 0:
            piece = s[:room]
            self.parts.append(piece)
            self.size += len(piece)
        if len(s) > max(room, 0):
            self.truncated = True
        return len(s)

    def text(self) -> str:
        return "".join(self.parts) + ("\n…(output truncated)" if self.truncated else "")


def _vm_size() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def isolate(spec: Spawn, result_fd: int) -> str:
    """Everything before the snippet runs; returns the snippet's source."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    # A process group of its own (so that killpg and PRIO_PGRP reach it), but not a session of its
    # own: a new session is a new CPU scheduling group (autogroup), whose share the kernel weighs
    # against the app's whatever the nice values, so every snippet would take an equal share of the
    # CPU away from the app and from the other snippets. In the worker's session, the worker's nice
    # value and a long snippet's demotion to nice 19 take effect.
    os.setpgid(0, 0)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.closerange(3, result_fd)
    os.closerange(result_fd + 1, 65536)
    jobdir = spec["jobdir"]
    os.chdir(jobdir)
    with open(SNIPPET_FILE, encoding="utf-8") as source:
        code = source.read()
    os.unlink(SNIPPET_FILE)
    os.environ.clear()
    uid = spec["uid"]
    if uid is not None:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    limits = {
        resource.RLIMIT_AS: _vm_size() + spec["mem_mb"] * 1024 * 1024,
        resource.RLIMIT_NOFILE: 64,
        resource.RLIMIT_FSIZE: 8 * 1024 * 1024,
        resource.RLIMIT_CORE: 0,
        resource.RLIMIT_MSGQUEUE: 0,
        resource.RLIMIT_MEMLOCK: 0,
    }
    if uid is not None:
        limits[resource.RLIMIT_NPROC] = 64
    for which, value in limits.items():
        resource.setrlimit(which, (value, value))
    # CPU: SIGXCPU at the soft limit (reported as a timeout), SIGKILL 2 s later if it is ignored.
    # With soft == hard the kernel sends SIGKILL at once, and a multi-threaded numpy loop on two
    # cores reaches the CPU limit before the wall-clock timeout: it was reported as a crash.
    cpu = int(spec["timeout"]) + 2
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 2))
    install_seccomp()
    return code


def error_of(exc: BaseException) -> ErrorDict:
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == "<snippet>":
            line = frame.lineno
    message = str(exc)
    if len(message) > 2000:
        message = message[:2000] + "…"
    return {"type": type(exc).__name__, "message": message, "line": line}


def run_child(spec: Spawn, result_fd: int, mods: Modules, major: str) -> None:
    try:
        source = isolate(spec, result_fd)
    except BaseException as exc:  # the worker reports "no result": never run unisolated code
        os.write(result_fd, b"X" + f"{type(exc).__name__}: {exc}"[:300].encode())
        return
    os.write(result_fd, b"S")  # isolated and about to run: tells the worker the fork went well
    out = CappedText(STDOUT_CAP)
    sys.stdout = sys.stderr = out
    result: ChildResult = {"ok": False, "models": [], "tensors": [], "layers": [], "error": None, "stdout": ""}
    ns: dict[str, Any] = {"__name__": "__snippet__", "__builtins__": builtins}
    hook = [True]
    try:
        code = compile(source, "<snippet>", "exec")
        hook = install_audit_hook(os.getcwd())
        exec(code, ns)
        hook[0] = False
        result["ok"] = True
    except BaseException as exc:
        hook[0] = False
        result["error"] = error_of(exc)
    try:
        found = introspect(ns, mods, major)
        result["models"], result["tensors"], result["layers"] = found["models"], found["tensors"], found["layers"]
    except BaseException as exc:
        result["ok"] = False
        result["error"] = result["error"] or {
            "type": "IntrospectionError", "message": f"{type(exc).__name__}: {exc}"[:500], "line": None,
        }
    result["stdout"] = out.text()
    try:
        # lone surrogates (a print of surrogate-escaped bytes) become "?": the service rejects them
        data = json.dumps(result, default=str, ensure_ascii=False).encode("utf-8", "replace")
    except BaseException:
        data = b"{}"
    if len(data) > RESULT_CAP - 1:
        too_large: ChildResult = {
            "ok": False, "models": [], "tensors": [], "layers": [], "stdout": "",
            "error": {"type": "ResultTooLarge", "message": "the report was larger than 64 KB", "line": None},
        }
        data = json.dumps(too_large).encode()
    os.write(result_fd, data)
