"""The child's seccomp filter (a real boundary) and audit hook (friendly messages only)."""

from __future__ import annotations

import contextlib
import errno
import os
import sys

CLONE_THREAD = 0x00010000
F_SETOWN, F_SETSIG, F_SETOWN_EX = 8, 10, 15

# Denied with EPERM. A deny-list, not an allow-list: TensorFlow, numpy and CPython use a wide,
# version-dependent set of syscalls (futex, mmap, sched_*, getrandom, statx, ...), and an
# allow-list that misses one turns into crashes on a library upgrade. The deny-list covers every
# way out that the namespaces, the uid and the rlimits do not already close:
DENIED = (
    # network, including io_uring's own socket/connect/bind ops
    "socket", "socketpair", "connect", "bind", "listen", "accept", "accept4",
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    # new programs and processes
    "execve", "execveat", "fork", "vfork",
    # other processes' memory, handles and signals
    "ptrace", "process_vm_writev", "process_vm_readv", "process_madvise", "kcmp",
    "pidfd_open", "pidfd_getfd", "pidfd_send_signal", "rt_sigqueueinfo", "rt_tgsigqueueinfo",
    # memory that outlives the process or escapes RLIMIT_AS
    "shmget", "shmat", "shmdt", "shmctl", "semget", "semop", "semtimedop", "semctl",
    "msgget", "msgsnd", "msgrcv", "msgctl", "mq_open", "mq_unlink", "mq_timedsend",
    "mq_timedreceive", "mq_notify", "mq_getsetattr", "memfd_create", "memfd_secret",
    "userfaultfd", "mlock", "mlock2", "mlockall", "remap_file_pages",
    # file systems, namespaces, devices, the kernel
    "mount", "umount2", "unshare", "setns", "chroot", "pivot_root", "fsopen", "fsmount",
    "fsconfig", "fspick", "move_mount", "open_tree", "mount_setattr", "open_by_handle_at",
    "name_to_handle_at", "mknod", "mknodat", "fanotify_init", "inotify_init", "inotify_init1",
    "quotactl", "swapon", "swapoff", "reboot", "syslog", "acct", "sethostname", "setdomainname",
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "ioperm", "iopl",
    "modify_ldt", "keyctl", "add_key", "request_key", "bpf", "perf_event_open", "personality",
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
    "lookup_dcookie", "vhangup", "uselib", "ustat", "sysfs", "migrate_pages", "move_pages",
    # a session of its own is a CPU scheduling group of its own (autogroup), out of the worker's share
    "setsid", "setpgid",
    # identities
    "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setgroups",
    "setfsuid", "setfsgid", "capset",
)


def install_seccomp() -> None:
    import pyseccomp as sc

    mypid = os.getpid()
    deny = sc.ERRNO(errno.EPERM)
    f = sc.SyscallFilter(defaction=sc.ALLOW)
    for name in DENIED:
        with contextlib.suppress(RuntimeError, ValueError, OSError):  # not on this kernel/arch
            f.add_rule(deny, name)
    # Threads yes (CLONE_THREAD), new processes no; clone3 cannot be inspected: make glibc
    # fall back to clone.
    f.add_rule(deny, "clone", sc.Arg(0, sc.MASKED_EQ, CLONE_THREAD, 0))
    f.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    # Signals only to itself.
    for name in ("kill", "tgkill", "tkill"):
        f.add_rule(deny, name, sc.Arg(0, sc.NE, mypid))
    # ...nor through SIGIO: F_SETOWN/F_SETOWN_EX name any pid and F_SETSIG any signal (SIGKILL
    # too), sent by the kernel on I/O; only the uid check stops it, and without uid isolation
    # (no root) the worker has the child's uid.
    for cmd in (F_SETOWN, F_SETSIG, F_SETOWN_EX):
        f.add_rule(deny, "fcntl", sc.Arg(1, sc.EQ, cmd))
    f.load()


_BLOCKED_EVENTS = (
    "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
    "subprocess.Popen", "socket.", "ctypes.", "os.kill", "os.killpg", "signal.pthread_kill",
    "pty.spawn", "webbrowser.open", "urllib.Request", "http.client.connect",
)


def install_audit_hook(jobdir: str) -> list[bool]:
    """Friendly refusals only; the real boundary is the OS (bubblewrap, uid, seccomp).

    Returns a switch: set ``switch[0] = False`` once the snippet has finished.
    """
    active = [True]
    blocked = tuple(_BLOCKED_EVENTS)
    allowed_read = (jobdir, sys.prefix, sys.base_prefix, sys.exec_prefix, "/usr/", "/lib")
    allowed_write = (jobdir,)

    def hook(event: str, args: tuple[object, ...]) -> None:
        if not active[0]:
            return
        if event.startswith(blocked):
            raise PermissionError(f"blocked by the sandbox: {event}")
        if event == "open" and args and isinstance(args[0], (str, bytes)):   # a bytes path too (found by a red team)
            path = os.path.abspath(os.fsdecode(args[0]))
            mode = args[1] if len(args) > 1 and isinstance(args[1], str) else "r"
            writing = any(c in mode for c in "wax+")
            allowed = allowed_write if writing else allowed_read + allowed_write
            if not path.startswith(allowed):
                raise PermissionError(f"blocked by the sandbox: open {path!r}")

    sys.addaudithook(hook)
    return active
