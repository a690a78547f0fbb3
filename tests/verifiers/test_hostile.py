"""Hostile snippets: each is refused or stopped with a clear reason, nothing outside the
scratch area is touched, and a normal snippet right after it gives the right answer."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.sandbox

MARKER = Path("/tmp/coursebot-hostile-marker")
NORMAL = "import tensorflow as tf\nd = tf.keras.layers.Dense(5)\ny = d(tf.zeros((2, 3)))\n"

# (name, code, outcome): outcome is "refused" (AST policy), or an error type the run must end in.
HOSTILE = [
    ("os-system", "import os\nos.system('touch /tmp/coursebot-hostile-marker')", "refused"),
    ("subprocess", "import subprocess\nsubprocess.run(['id'])", "refused"),
    ("dunder-import", "__import__('os').system('id')", "refused"),
    ("getattr-builtins", "getattr(print, 'x')", "refused"),
    ("subclasses-walk", "x = ().__class__.__bases__[0].__subclasses__()", "refused"),
    ("open-passwd", "open('/etc/passwd').read()", "refused"),
    ("eval", "eval('1+1')", "refused"),
    ("tf-io-read", "import tensorflow as tf\nx = tf.io.read_file('/etc/passwd')", "refused"),
    ("gfile-listdir", "import tensorflow as tf\nx = tf.io.gfile.listdir('/root')", "refused"),
    ("np-ctypeslib", "import numpy as np\nc = np.ctypeslib.ctypes", "refused"),
    ("keras-src-os", "import keras\no = keras.src.utils.progbar.os", "refused"),
    ("get-file", "import tensorflow as tf\ntf.keras.utils.get_file('x', 'http://127.0.0.1:9/x')", "refused"),
    ("socket", "import socket\ns = socket.socket()", "refused"),
    ("infinite-loop", "while True:\n    pass", "Timeout"),
    ("lambda-loop",
     "import tensorflow as tf\nfrom tensorflow.keras.layers import Lambda\n"
     "def spin(x):\n    while True:\n        pass\n    return x\n"
     "y = Lambda(spin)(tf.zeros((1, 2)))", "Timeout"),
    ("huge-alloc", "b = bytearray(50 * 10**9)", "MemoryError"),
    ("huge-list", "x = [0] * (10**10)", "MemoryError"),
    ("deep-recursion", "def f(n):\n    return f(n + 1)\nf(0)", "RecursionError"),
    ("system-exit", "raise SystemExit(3)", "SystemExit"),
    ("huge-print", "print('x' * 10**8)", None),
    ("fork-via-numpy-os",
     "import numpy as np\nos = np.lib", "refused"),
    ("threads", "import tensorflow as tf\nx = [tf.constant(i) for i in range(500)]", None),
    ("bytes-path", "import keras\ny = keras.utils.load_img(b'/proc/self/mountinfo')", "PermissionError"),
    ("dense-1e9", "import tensorflow as tf\nd = tf.keras.layers.Dense(10**9)\ny = d(tf.zeros((1, 64)))",
     "any-error"),
]


@pytest.mark.parametrize(("name", "code", "outcome"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_snippet_is_contained(verifier, name: str, code: str, outcome: str | None) -> None:
    MARKER.unlink(missing_ok=True)
    report = verifier.verify(code, ("3",), use_cache=False)[0]
    if outcome == "refused":
        assert report.rejected is not None and report.rejected.reason
    elif outcome == "any-error":
        assert report.error is not None and report.error.message
    elif outcome is not None:
        assert report.error is not None and report.error.type == outcome, report
    else:
        assert report.error is None or report.error.type != "WorkerError"
    if name == "huge-print":
        assert len(report.stdout) < 5000 and "truncated" in report.stdout
    assert not MARKER.exists()
    after = verifier.verify(NORMAL, ("3",), use_cache=False)[0]
    assert after.ok and after.layers[0].params == 20, after


# Code that slips past the friendly AST check must still be stopped by the OS-level sandbox.
# These run the worker directly (bypassing the policy) to test the real boundary.
ESCAPES = [
    ("shell-via-sys-modules", "import sys\nsys.modules['posix'].system('touch /tmp/coursebot-hostile-marker')"),
    ("posix-spawn", "import os\nos.posix_spawn('/bin/sh', ['sh', '-c', 'touch /tmp/coursebot-hostile-marker'], {})"),
    ("write-outside-scratch", "f = open('/tmp/coursebot-hostile-marker', 'w')\nf.write('x')\nf.close()"),
    ("read-host-file", "print(open('/etc/passwd').read())"),
    ("environ", "import os\nenv = dict(os.environ)\nprint(env)"),
    ("kill-parent", "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)"),
    ("fork", "import os\npid = os.fork()"),
    ("socket-connect", "import socket\ns = socket.socket()\ns.connect(('127.0.0.1', 22))"),
    ("monkeypatch-dense", "import tensorflow as tf\ntf.keras.layers.Dense = None"),
]


@pytest.mark.parametrize(("name", "code"), ESCAPES, ids=[e[0] for e in ESCAPES])
def test_os_boundary_holds_without_the_ast_policy(verifier, name: str, code: str) -> None:
    MARKER.unlink(missing_ok=True)
    worker = verifier.worker("3")
    raw = worker.run(code)
    stdout = raw.get("stdout", "")
    assert "root:" not in stdout  # /etc/passwd is not even in the sandbox
    if name == "environ":
        assert stdout.strip() == "{}"
    elif name != "monkeypatch-dense":
        assert raw["error"] is not None, raw
    assert not MARKER.exists()
    assert worker.alive
    after = verifier.verify(NORMAL, ("3",), use_cache=False)[0]
    assert after.ok and after.layers[0].params == 20  # also: the monkey-patch did not leak
    assert os.getpid() > 0
