"""Issue 13, findings 1-7: each in the real sandbox, with both Keras versions, and each followed
by a normal snippet in the same long-lived verifier (tests/conftest.py's session ``verifier``)."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest

from tests.conftest import ENTRIES_DIR
from tests.verifiers.helpers import MAJORS, NORMAL, assert_normal_works, run_unhooked, shmem_kb, x86_64

pytestmark = pytest.mark.sandbox

TF_OS = "import tensorflow as tf\nos = tf._os\n"
LIBC = "import sys\nctypes = sys.modules['ctypes']\nlibc = ctypes.CDLL(None, use_errno=True)\n"


run = run_unhooked


# -- 1. a deep tree in the scratch must not break cleanup, close() or later snippets ----------
@pytest.mark.parametrize("major", MAJORS)
@pytest.mark.parametrize("depth", [1500, 6000])
def test_deep_tree_does_not_break_the_worker(verifier: Any, major: str, depth: int) -> None:
    code = TF_OS + f"for i in range({depth}):\n    os.mkdir('d')\n    os.chdir('d')\nprint(i + 1)"
    raw = run(verifier, major, code)
    assert raw["error"] is None and raw["stdout"].strip() == str(depth), raw
    worker = verifier.worker(major)
    starts = worker.starts
    assert_normal_works(verifier, major)
    assert_normal_works(verifier, major)
    assert worker.starts == starts  # cleaned up without a restart


def test_close_never_raises_and_forgets_the_process(settings: Any) -> None:
    from verifiers.sandbox import KerasWorker

    worker = KerasWorker("3", settings)
    raw = worker.run(TF_OS + "for i in range(2000):\n    os.mkdir('d')\n    os.chdir('d')\n")
    assert raw["error"] is None, raw
    worker.close()
    worker.close()
    assert not worker.alive and worker._gen is None and worker._local_root is None
    assert worker.run(NORMAL)["layers"][0]["params"] == 20  # the same object starts again
    worker.shutdown()


# -- 2. + 4. SysV IPC, POSIX mq, memfd and io_uring are denied in the child ---------------------
IPC_CALLS = {
    "shmget": "libc.shmget(0, 1 << 30, 0o1000 | 0o600)",
    "semget": "libc.semget(0, 1, 0o1000 | 0o600)",
    "msgget": "libc.msgget(0, 0o1000 | 0o600)",
    "mq_open": "libc.mq_open(b'/q', 0o100 | 2, 0o600, None)",
    "memfd_create": "libc.memfd_create(b'x', 0)",
    "io_uring_setup": "libc.syscall(425, 8, ctypes.create_string_buffer(120))",
    "io_uring_register": "libc.syscall(427, 0, 0, None, 0)",
    "userfaultfd": "libc.syscall(323, 0)",
}


@x86_64
@pytest.mark.parametrize("major", MAJORS)
@pytest.mark.parametrize("call", list(IPC_CALLS))
def test_ipc_and_io_uring_are_denied(verifier: Any, major: str, call: str) -> None:
    code = LIBC + f"r = {IPC_CALLS[call]}\nprint(r, ctypes.get_errno())"
    raw = run(verifier, major, code)
    assert raw["stdout"].split() == ["-1", "1"], raw  # -1, EPERM
    assert_normal_works(verifier, major)


@x86_64
@pytest.mark.parametrize("major", MAJORS)
def test_shared_memory_cannot_outlive_the_job(verifier: Any, major: str) -> None:
    before = shmem_kb()
    code = LIBC + (
        "ids = [libc.shmget(0, 1 << 30, 0o1000 | 0o600) for _ in range(3)]\n"
        "for i in ids:\n"
        "    if i >= 0:\n"
        "        p = libc.shmat(i, None, 0)\n"
        "        ctypes.memset(p, 1, 1 << 30)\n"
        "print(ids)\n"
    )
    raw = run(verifier, major, code)
    assert raw["stdout"].strip() == "[-1, -1, -1]", raw
    assert shmem_kb() - before < 256 * 1024  # not 3 GiB (the scratch tmpfs may hold a little)
    assert_normal_works(verifier, major)


# -- 3. a child inherits no earlier job's data ---------------------------------------------------
SCAN = """
import ctypes
first, second = {first!r}.encode(), {second!r}.encode()
control = ({cfirst!r} + {csecond!r}).encode()
found = {{"secret": 0, "control": 0}}
with open("/proc/self/maps") as maps:
    regions = [line.split() for line in maps]
for r in regions:
    if len(r) < 5 or not r[1].startswith("rw"):
        continue
    if len(r) > 5 and r[5] not in ("[heap]",):
        continue
    lo, hi = (int(x, 16) for x in r[0].split("-"))
    if hi - lo > 512 * 1024 * 1024:
        continue
    chunk = ctypes.string_at(lo, hi - lo)
    i = chunk.find(first)
    while i >= 0:
        if chunk[i + len(first):i + len(first) + len(second)] == second:
            found["secret"] += 1
        i = chunk.find(first, i + 1)
    found["control"] += chunk.count(control)
print(found["secret"], found["control"] > 0)
"""


@pytest.mark.parametrize("major", MAJORS)
def test_no_earlier_result_in_a_childs_memory(verifier: Any, major: str) -> None:
    secret = uuid.uuid4().hex
    control = uuid.uuid4().hex
    earlier = run(verifier, major, f"s = {secret!r}\nprint(s * 3)\nx = [s] * 50\n")
    assert secret in earlier["stdout"]
    scan = SCAN.format(first=secret[:16], second=secret[16:], cfirst=control[:16], csecond=control[16:])
    raw = run(verifier, major, scan)
    assert raw["error"] is None, raw
    assert raw["stdout"].split() == ["0", "True"], raw  # the scanner works (control) and finds nothing
    assert_normal_works(verifier, major)


# -- 5. Keras 2 and Keras 3 children never share a uid (nor RLIMIT_NPROC) -------------------------
def test_uid_ranges_per_major_and_threads_do_not_cross(verifier: Any) -> None:
    uids = {m: int(run(verifier, m, TF_OS + "print(os.getuid())")["stdout"]) for m in MAJORS}
    if not verifier.worker("3").uid_isolation:
        pytest.skip("uid isolation needs root")
    assert 61000 <= uids["3"] < 62000 and 62000 <= uids["2"] < 63000
    hog = ("import threading, time\nev = threading.Event()\nn = 0\n"  # as many threads as RLIMIT_NPROC allows
           "try:\n    for _ in range(200):\n        threading.Thread(target=ev.wait, args=(4,)).start()\n"
           "        n += 1\nexcept RuntimeError:\n    pass\ntime.sleep(3)\nprint(n)")
    results: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: results.setdefault("hog", run(verifier, "3", hog)))
    thread.start()
    try:
        for _ in range(3):
            assert_normal_works(verifier, "2")
    finally:
        thread.join()
    assert 10 <= int(results["hog"]["stdout"]) < 64, results  # stopped by its own limits (NPROC or AS)


# -- 6. results are validated; forged ones touch only that snippet --------------------------------
FORGED_REPORT = ('{"ok": true, "models": [{"var": "model", "class": "Model", "built": true, "layers": [], '
                 '"total_params": 123, "trainable_params": 123, "note": null}], "tensors": [], "layers": [], '
                 '"error": null, "stdout": "forged"}')
FORGERIES = {
    "fake-report": f"import sys, os\nfd = sys._getframe(1).f_locals['result_fd']\nos.write(fd, {FORGED_REPORT!r}.encode())\nos._exit(0)",
    "malformed": "import sys, os\nfd = sys._getframe(1).f_locals['result_fd']\nos.write(fd, b'{\"ok\": true, \"models\": [{\"var\": 1}]}')\nos._exit(0)",
    "not-json": "import sys, os\nfd = sys._getframe(1).f_locals['result_fd']\nos.write(fd, b'\\xff\\xfe{{{')\nos._exit(0)",
    "fake-forkhang": "import sys, os\nfd = sys._getframe(1).f_locals['result_fd']\nos.write(fd, b'{\"ok\": false, \"models\": [], \"tensors\": [], \"layers\": [], \"stdout\": \"\", \"error\": {\"type\": \"ForkHang\", \"message\": \"x\", \"line\": null}}')\nos._exit(0)",
    "patched-dumps": "import json\njson.dumps = lambda *a, **k: '{\"ok\": 5}'",
    "patched-weights": "import tensorflow as tf\ntf.keras.layers.Layer.weights = property(lambda self: ['x'])\nd = tf.keras.layers.Dense(3)\ny = d(tf.zeros((1, 2)))",
    "huge-report": "import sys, os\nfd = sys._getframe(1).f_locals['result_fd']\nfor _ in range(40):\n    os.write(fd, b'x' * 4096)\nos._exit(0)",
}


@pytest.mark.parametrize("major", MAJORS)
@pytest.mark.parametrize("name", list(FORGERIES))
def test_forged_results_touch_only_their_own_snippet(verifier: Any, major: str, name: str) -> None:
    from kb.core.store import load_entry

    entry_code = load_entry(ENTRIES_DIR / "bilstm-cnn-ner-model.yaml").snippet("ner-model").code
    before = verifier.verify(entry_code, (major,))[0]
    assert before.model("model").total_params == 705548
    worker = verifier.worker(major)
    starts = worker.starts
    raw = run(verifier, major, FORGERIES[name])  # past the AST policy, which would refuse most of these
    if name == "fake-report":
        assert raw["models"][0]["total_params"] == 123  # shown for this snippet only
    elif name == "fake-forkhang":
        assert raw["error"]["type"] == "ForkHang"  # the child's word: displayed, nothing restarted
    elif name == "huge-report":
        assert raw["error"]["type"] == "ResultTooLarge"
    else:
        assert raw["error"] is not None and raw["error"]["type"] in ("InvalidResult", "TypeError",
                                                                      "AttributeError", "IntrospectionError"), raw
    assert worker.starts == starts  # never restarted on the child's word
    cached = verifier.verify(entry_code, (major,))[0]
    fresh = verifier.verify(entry_code, (major,), use_cache=False)[0]
    assert cached.cached and cached.model_dump(mode="json") | {"cached": False, "took_ms": 0} == before.model_dump(mode="json") | {
        "cached": False, "took_ms": 0}
    assert [la.params for la in fresh.model("model").layers] == [la.params for la in before.model("model").layers]
    assert_normal_works(verifier, major)


# -- 7. the cache key is the exact code ------------------------------------------------------------
@pytest.mark.parametrize("major", MAJORS)
def test_cache_key_is_the_exact_code(verifier: Any, major: str) -> None:
    code = f"import tensorflow as tf\nx = tf.zeros((2, 3))\ny = tf.reshape(x, ({uuid.uuid4().int % 97 + 7}, 5))\n"
    padded = "\n\n" + code
    first = verifier.verify(padded, (major,))[0]
    second = verifier.verify(code, (major,))[0]
    assert not second.cached
    assert first.error.line == 5 and second.error.line == 3
    assert verifier.verify(code, (major,))[0].cached
