"""Shared bits of the sandbox tests: a normal snippet with known numbers, host-side measurements."""

from __future__ import annotations

import os
import platform
import tempfile
from typing import Any

import pytest

# The audit hook is not a boundary: this switches it off (its flag is a list reachable through gc),
# as a determined snippet would, so that the tests exercise the OS layer alone.
UNHOOK = "import gc\nfor o in gc.get_objects():\n    if type(o) is list and o == [True]:\n        o[0] = False\n"
NORMAL = "import tensorflow as tf\nd = tf.keras.layers.Dense(5)\ny = d(tf.zeros((2, 3)))\n"
MAJORS = ("3", "2")
x86_64 = pytest.mark.skipif(platform.machine() != "x86_64", reason="syscall numbers are x86_64's")


def assert_normal_works(verifier: Any, major: str) -> None:
    """A normal snippet in the same long-lived verifier still gives the right numbers."""
    after = verifier.verify(NORMAL, (major,), use_cache=False)[0]
    assert after.ok and after.layers[0].params == 20, after
    assert {t.var: t.shape for t in after.tensors} == {"y": [2, 5]}


def shmem_kb() -> int:
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("Shmem:"):
                return int(line.split()[1])
    return 0


def temp_entries() -> set[str]:
    return set(os.listdir(tempfile.gettempdir()))


def uid_processes(low: int, high: int) -> list[int]:
    """Host pids running as a sandbox child uid (there should be none once a job is over)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/status") as status:
                for line in status:
                    if line.startswith("Uid:"):
                        if low <= int(line.split()[1]) <= high:
                            found.append(int(pid))
                        break
        except OSError:
            continue
    return found


def run_unhooked(verifier: Any, major: str, code: str) -> dict[str, Any]:
    """Run ``code`` past the AST policy and with the audit hook off: only the OS layer is left."""
    return verifier.worker(major).run(UNHOOK + code)  # type: ignore[no-any-return]
