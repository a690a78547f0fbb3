"""The bubblewrap command line a Keras worker starts in (what the sandbox can see at all)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from verifiers.protocol import SLOT_PREFIX

WORKER_DIR = Path(__file__).with_name("worker")
PROTOCOL_FILE = Path(__file__).with_name("protocol.py")
SANDBOX_ROOT = "/opt/coursebot"  # inside the sandbox: verifiers/worker and verifiers/protocol.py


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


def bwrap_command(scratch_mb: int, as_root: bool, slots: int = 1) -> list[str]:
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
        # hand it its job folder, to kill it, to lower its priority and to clean up after it. The child loses them all
        # when it switches uid.
        cmd += ["--cap-drop", "ALL"]
        # CAP_SYS_NICE: to lower a long-running child's CPU priority (verifiers/worker/template.py).
        for cap in ("CAP_SETUID", "CAP_SETGID", "CAP_CHOWN", "CAP_FOWNER", "CAP_DAC_OVERRIDE", "CAP_KILL",
                    "CAP_SYS_NICE"):
            cmd += ["--cap-add", cap]
    else:
        cmd += ["--unshare-user"]
    # A private /tmp first: a venv that lives under /tmp is bound on top of it below.
    cmd += ["--perms", "0755", "--tmpfs", "/tmp"]
    # bubblewrap creates missing parent folders with mode 0700, which the child's uid could not
    # cross: create them 0755 first.
    parents: set[str] = {"/etc", "/opt", SANDBOX_ROOT, f"{SANDBOX_ROOT}/verifiers"}
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
        "--ro-bind", str(WORKER_DIR), f"{SANDBOX_ROOT}/verifiers/worker",
        "--ro-bind", str(PROTOCOL_FILE), f"{SANDBOX_ROOT}/verifiers/protocol.py",
        # The scratch is a tmpfs of bounded size inside the sandbox: nothing a snippet writes
        # reaches the host disk, and it all goes when the worker stops.
        "--perms", "0711", "--size", str(scratch_mb * 1024 * 1024), "--tmpfs", "/scratch",
    ]
    # One tmpfs of the same size per snippet that may run at once: a snippet fills only its own
    # slot, never the space of a snippet running beside it (the dispatcher gives each job a slot).
    for n in range(max(1, slots)):
        cmd += ["--perms", "0711", "--size", str(scratch_mb * 1024 * 1024), "--tmpfs", f"/scratch/{SLOT_PREFIX}{n}"]
    cmd += [
        "--dev", "/dev", "--proc", "/proc",
        # pid 1 is bubblewrap, whose command line lists host paths
        "--ro-bind", "/dev/null", "/proc/1/cmdline",
        "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "HOME", "/scratch",
        "--setenv", "PYTHONDONTWRITEBYTECODE", "1", "--chdir", "/scratch",
    ]
    return cmd
