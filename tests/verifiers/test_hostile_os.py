"""More hostile snippets, run past the AST policy and with the audit hook switched off, so that
only the OS layer (bubblewrap, uid, rlimits, seccomp, tmpfs scratch) stands between them and the
host. Both Keras versions; after each, a normal snippet in the same long-lived verifier gives the
right numbers; after the whole module, the host has no leftover files, shared memory or processes.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.verifiers.helpers import (
    MAJORS,
    assert_normal_works,
    run_unhooked,
    shmem_kb,
    temp_entries,
    uid_processes,
    x86_64,
)

pytestmark = pytest.mark.sandbox

MARKER = Path("/tmp/coursebot-hostile-os-marker")
TF = "import tensorflow as tf\nos = tf._os\n"
LIBC = "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\ndef show(r):\n    print(r, ctypes.get_errno())\n"
EPERM = "eperm"  # the call returned -1 with errno EPERM
ERROR = "error"  # the snippet ended in an exception (any)
TOUCH = f"touch {MARKER}"

# (name, code, expected): expected is EPERM, ERROR, "type:<error type>" or "out:<exact stdout>"
CASES: list[tuple[str, str, str]] = [
    # system() cannot clone a process: glibc reports "could not run the shell", status 127 << 8
    ("tf-os-system", TF + f"print(os.system('{TOUCH}'))", "out:32512"),
    ("tf-sys-posix-system", "import tensorflow as tf\n" + f"print(tf._sys.modules['posix'].system('{TOUCH}'))", "out:32512"),
    ("posixsubprocess-fork-exec",
     "import _posixsubprocess as p, os\nr, w = os.pipe()\n"
     "p.fork_exec(['/bin/sh'], [b'/bin/sh'], True, (), None, None, -1, -1, -1, -1, -1, -1, r, w, True, False,"
     " None, None, None, -1, None, False)", ERROR),
    ("tf-sys-subprocess", "import tensorflow as tf\nimport subprocess\n"
     f"tf._sys.modules['subprocess'].run(['sh', '-c', '{TOUCH}'])", ERROR),
    ("os-execv", TF + "os.execv('/bin/sh', ['sh', '-c', 'true'])", ERROR),
    ("libc-execve", LIBC + "show(libc.execve(b'/bin/sh', None, None))", EPERM),
    ("clone-syscall", LIBC + "show(libc.syscall(56, 17, 0, 0, 0, 0))", EPERM),
    ("vfork-syscall", LIBC + "show(libc.syscall(58))", EPERM),
    ("numpy-f2py-os", "import numpy.f2py as f\n" + f"print(f.os.system('{TOUCH}'))", "out:32512"),
    ("tf-inspect-builtins-open", "import tensorflow as tf\nprint(tf._inspect.builtins.open('/etc/passwd').read())", ERROR),
    ("compat-v1-gfile", "import tensorflow as tf\nprint(tf.compat.v1.gfile.GFile('/etc/passwd').read())", ERROR),
    ("tf-io-read-shadow", "import tensorflow as tf\nprint(tf.io.read_file('/etc/shadow'))", ERROR),
    # only the path to the Python install (it may live under /root, e.g. pyenv) is there at all
    ("gfile-listdir-root", "import sys, tensorflow as tf\n"
     "print({n for n in tf.io.gfile.listdir('/root') if not sys.base_prefix.startswith('/root/' + n)})", "out:set()"),
    ("listdir-home", TF + "print(os.listdir('/home'))", ERROR),
    ("proc1-cmdline", TF + "print(repr(open('/proc/1/cmdline').read()))", ERROR),
    ("proc1-environ", TF + "print(open('/proc/1/environ').read())", ERROR),
    ("proc2-maps", TF + "print(open('/proc/2/maps').read())", ERROR),
    ("write-tmp", TF + "open('/tmp/x', 'w').write('x')", ERROR),
    ("write-usr", TF + "open('/usr/x', 'w').write('x')", ERROR),
    ("write-venv", "import sys\nopen(sys.prefix + '/x.pth', 'w').write('import os')", ERROR),
    ("list-scratch", TF + "print(os.listdir('/scratch'))", ERROR),
    ("dev-shm", TF + "open('/dev/shm/x', 'w').write('x')", ERROR),
    ("kill-pid1", TF + "os.kill(1, 9)", ERROR),
    ("kill-parent", TF + "os.kill(os.getppid(), 9)", ERROR),
    ("kill-group-zero", TF + "os.kill(0, 9)", ERROR),
    ("kill-everyone", TF + "os.kill(-1, 9)", ERROR),
    ("tkill-other", LIBC + "show(libc.syscall(200, 2, 9))", EPERM),
    ("setuid-root", TF + "os.setuid(0)", ERROR),
    ("setgroups", TF + "os.setgroups([0])", ERROR),
    # a session (a CPU scheduling group) of its own, or another process group: out of the worker's share
    ("setsid", TF + "os.setsid()", ERROR),
    ("setpgid", TF + "os.setpgid(0, 0)", ERROR),
    ("raise-priority", TF + "os.nice(-5)", ERROR),
    ("raise-rlimit", "import resource\nresource.setrlimit(resource.RLIMIT_AS, (-1, -1))", ERROR),
    ("ptrace", LIBC + "show(libc.ptrace(16, 2, None, None))", EPERM),
    ("process-vm-readv", LIBC + "show(libc.syscall(310, 2, None, 0, None, 0, 0))", EPERM),
    ("pidfd-open", LIBC + "show(libc.syscall(434, 1, 0))", EPERM),
    ("unshare-user", LIBC + "show(libc.unshare(0x10000000))", EPERM),
    ("mount-tmpfs", LIBC + "show(libc.mount(b'none', b'/scratch', b'tmpfs', 0, None))", EPERM),
    ("keyctl", LIBC + "show(libc.syscall(250, 0, 0, 0, 0, 0))", EPERM),
    ("bpf", LIBC + "show(libc.syscall(321, 0, None, 0))", EPERM),
    ("perf-event-open", LIBC + "show(libc.syscall(298, None, 0, -1, -1, 0))", EPERM),
    ("io-uring-enter", LIBC + "show(libc.syscall(426, 0, 1, 0, 0, None, 0))", EPERM),
    ("shmctl-info", LIBC + "show(libc.shmctl(0, 3, ctypes.create_string_buffer(256)))", EPERM),
    ("semop", LIBC + "show(libc.semop(0, None, 0))", EPERM),
    ("msgsnd", LIBC + "show(libc.msgsnd(0, None, 0, 0))", EPERM),
    ("mq-unlink", LIBC + "show(libc.syscall(241, b'/q'))", EPERM),  # glibc's wrapper says EACCES
    ("memfd-os", TF + "os.memfd_create('x')", ERROR),
    ("mkfifo", TF + "os.mkfifo('f')", ERROR),
    ("socket-unix", "import socket\ns = socket.socket(socket.AF_UNIX)", ERROR),
    ("socket-vsock", "import socket\ns = socket.socket(40, socket.SOCK_STREAM)", ERROR),
    ("dns", "import socket\nprint(socket.getaddrinfo('example.com', 80))", ERROR),
    ("environ", TF + "print(dict(os.environ))", "out:{}"),
    ("fill-scratch", TF + "for i in range(40):\n    with open(f'f{i}', 'wb') as f:\n        f.write(b'x' * (8 << 20))", ERROR),
    ("file-size", TF + "open('big', 'wb').write(b'x' * (16 << 20))", ERROR),
    ("many-files", TF + "for i in range(20000):\n    open(f'{i}', 'w').close()\nprint('done')", "out:done"),
    ("many-symlinks-out", TF + "for i in range(2000):\n    os.symlink('/usr', f'l{i}')\nprint('done')", "out:done"),
    ("hardlink-python", "import sys, os\nos.link(sys.executable, 'py')", ERROR),
    ("mmap-huge", "import mmap\nm = mmap.mmap(-1, 64 << 30)", ERROR),
    ("bytearray-8g", "b = bytearray(8 << 30)", "type:MemoryError"),
    ("self-sigkill", TF + "os.kill(os.getpid(), 9)", "type:Crashed"),
    ("exit-early", TF + "os._exit(0)", "type:NoResult"),
    ("close-result-fd", "import sys, os\nos.close(sys._getframe(1).f_locals['result_fd'])", "type:NoResult|Crashed"),
    ("ignore-term-sleep", "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\ntime.sleep(100)", "type:Timeout"),
    ("numpy-burn", "import numpy as np\na = np.ones((400, 400))\nwhile True:\n    a = a @ a / 400", "type:Timeout"),
    # SIGXCPU ignored: the hard CPU limit still kills it 2 s later (never runs on unbounded)
    ("ignore-xcpu-burn", "import signal\nimport numpy as np\nsignal.signal(signal.SIGXCPU, signal.SIG_IGN)\n"
     "a = np.ones((400, 400))\nwhile True:\n    a = a @ a / 400", "type:Timeout|Crashed"),
    ("thread-flood", "import threading, time\nfor _ in range(500):\n    threading.Thread(target=time.sleep, args=(2,)).start()", ERROR),
]


@pytest.fixture(scope="module", autouse=True)
def host_state() -> Iterator[dict[str, Any]]:
    state = {"shmem": shmem_kb(), "tmp": temp_entries()}
    yield state


def _owned_by_child(path: Path) -> bool:
    try:
        entries = [path, *path.iterdir()] if path.is_dir() and not path.is_symlink() else [path]
        return any(61000 <= e.lstat().st_uid <= 62999 for e in entries)
    except OSError:
        return False


def _check(raw: dict[str, Any], expected: str) -> None:
    out = raw["stdout"].strip()
    if expected == EPERM:
        assert out.split() == ["-1", "1"], raw
    elif expected == ERROR:
        assert raw["error"] is not None, raw
    elif expected.startswith("type:"):
        assert raw["error"] is not None and raw["error"]["type"] in expected[5:].split("|"), raw
    else:
        assert raw["error"] is None and out == expected[4:], raw


@x86_64
@pytest.mark.parametrize("major", MAJORS)
@pytest.mark.parametrize(("name", "code", "expected"), CASES, ids=[c[0] for c in CASES])
def test_os_layer_contains(verifier: Any, name: str, code: str, expected: str, major: str) -> None:
    MARKER.unlink(missing_ok=True)
    raw = run_unhooked(verifier, major, code)
    _check(raw, expected)
    assert not MARKER.exists()
    assert "/work" not in raw["stdout"] and "bwrap" not in raw["stdout"]
    assert verifier.worker(major).alive
    assert_normal_works(verifier, major)


def test_host_is_clean_after_the_suite(verifier: Any, host_state: dict[str, Any]) -> None:
    """No leftover files in the temp folder, no shared memory, no process of a child uid."""
    for major in MAJORS:
        assert_normal_works(verifier, major)
    grown = shmem_kb() - host_state["shmem"]
    new_tmp = temp_entries() - host_state["tmp"]
    print(f"Shmem before {host_state['shmem']} kB, after {shmem_kb()} kB; new temp entries {sorted(new_tmp)}")
    assert grown < 256 * 1024, grown  # kB: at most the scratch tmpfs of the two workers
    # Other programs on the machine may add temp entries; none may be a child's (by owner) or a job's.
    tmp = Path(tempfile.gettempdir())
    assert not [n for n in new_tmp if _owned_by_child(tmp / n)]
    assert all(w._local_root is None for w in (verifier.worker(m) for m in MAJORS))  # no host scratch
    assert uid_processes(61000, 62999) == []
