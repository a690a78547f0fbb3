"""Issue 16 item 1: several snippets at once per worker, each isolated, behind a fair queue."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kb.core.settings import Settings
from tests.verifiers.helpers import MAJORS, NORMAL, UNHOOK

pytestmark = pytest.mark.sandbox

LOOP = "while True:\n    pass\n"
DENSE7 = "import tensorflow as tf\nd = tf.keras.layers.Dense(7)\ny = d(tf.zeros((2, 3)))\n"


@pytest.fixture(scope="module")
def concurrent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from verifiers import Verifier

    v = Verifier(Settings(data_dir=tmp_path_factory.mktemp("concurrent-var"), verify_timeout=5.0,
                          verify_memory_mb=1024, verify_concurrency=2, verify_session_queue=1, verify_nice=10,
                          verify_aside_after=0))   # nothing steps aside: the queue tests below count slots
    yield v
    v.close()


@pytest.fixture(scope="module")
def stepping(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One slot per worker, and a snippet still running after 1 s steps aside (the default)."""
    from verifiers import Verifier

    v = Verifier(Settings(data_dir=tmp_path_factory.mktemp("stepping-var"), verify_timeout=5.0,
                          verify_memory_mb=1024, verify_concurrency=1, verify_nice=10, verify_aside_after=1.0))
    yield v
    v.close()


def _until(check: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline
        time.sleep(0.01)


@pytest.mark.parametrize("major", MAJORS)
def test_a_timeout_does_not_delay_a_later_snippet(concurrent: Any, major: str) -> None:
    assert concurrent.verify(NORMAL, (major,), use_cache=False)[0].ok  # warm
    done: list[str] = []
    results: dict[str, Any] = {}

    def go(name: str, code: str, session: str) -> None:
        results[name] = concurrent.verify(code, (major,), use_cache=False, session=session)[0]
        done.append(name)

    loop = threading.Thread(target=go, args=("loop", LOOP, "student-a"))
    loop.start()
    _until(lambda: concurrent.worker(major)._inflight == 1)
    dense = threading.Thread(target=go, args=("dense", DENSE7, "student-b"))
    dense.start()
    dense.join()
    loop.join()
    assert done == ["dense", "loop"]  # finished while the loop was still running
    assert results["dense"].ok and results["dense"].layers[0].params == 28
    assert results["loop"].error.type == "Timeout"


def test_concurrent_children_have_distinct_uids(concurrent: Any) -> None:
    worker = concurrent.worker("3")
    code = "import os, time\ntime.sleep(1.5)\nprint(os.getuid())"
    out: list[dict[str, Any]] = []
    threads = [threading.Thread(target=lambda: out.append(worker.run(code))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if not worker.uid_isolation:
        pytest.skip("uid isolation needs root")
    uids = {r["stdout"].strip() for r in out}
    assert len(uids) == 2 and all(61000 <= int(u) < 62000 for u in uids), out


def test_queue_position_and_per_session_limit(concurrent: Any) -> None:
    results: dict[str, Any] = {}
    positions: list[int] = []

    def go(name: str, code: str, session: str, on_wait: Any = None) -> None:
        results[name] = concurrent.verify(code, ("3",), use_cache=False, session=session, on_wait=on_wait)[0]

    busy = [threading.Thread(target=go, args=(f"loop-{s}", LOOP, s)) for s in ("a", "b")]
    for t in busy:
        t.start()
    _until(lambda: concurrent.queue("3").running == 2)
    waiting = threading.Thread(target=go, args=("dense", DENSE7, "c", positions.append))
    waiting.start()
    _until(lambda: concurrent.queue("3").waiting == 1)
    over = concurrent.verify(DENSE7 + "z = 1\n", ("3",), use_cache=False, session="c")[0]
    assert over.error.type == "QueueFull" and "waiting" in over.error.message
    for t in [*busy, waiting]:
        t.join()
    assert positions and positions[0] == 2  # "2 snippets ahead of yours are running"
    assert results["dense"].ok and results["dense"].layers[0].params == 28


def test_snippets_run_at_low_cpu_priority_and_cannot_raise_it(concurrent: Any) -> None:
    """Students' code runs at COURSEBOT_VERIFY_NICE (here 10) and cannot take a higher priority."""
    code = ("import os\nprint(os.nice(0))\ntry:\n    os.nice(-5)\nexcept OSError:\n    pass\n"
            "print(os.nice(0))\n")
    expected = str(min(19, os.nice(0) + 10))  # nice adds to the app's own priority
    for major in MAJORS:
        out = concurrent.worker(major).run(code)
        assert out["stdout"].split() == [expected, expected], out


SPIN = ("import os, threading, time\nseen = []\n"
        "def spin():\n    end = time.monotonic() + 1.8\n    while time.monotonic() < end:\n        pass\n"
        "    seen.append(os.nice(0))\n"
        "print(os.nice(0))\nt = threading.Thread(target=spin)\nt.start()\nspin()\nt.join()\nprint(*seen)\n")


def test_a_snippet_still_running_after_a_second_drops_to_the_lowest_priority(stepping: Any) -> None:
    """A long snippet (every thread of it) goes to nice 19 after verify_aside_after, so that it takes
    only the CPU the snippets started after it leave idle; a short one keeps the setting's priority."""
    from verifiers.protocol import LOWEST_PRIORITY

    start = str(min(19, os.nice(0) + 10))
    for major in MAJORS:
        out = stepping.worker(major).run(SPIN)
        assert out["stdout"].split() == [start, str(LOWEST_PRIORITY), str(LOWEST_PRIORITY)], out
        quick = stepping.worker(major).run("import os\nprint(os.nice(0))\n")
        assert quick["stdout"].split() == [start], quick   # the next snippet starts at the setting again


def test_snippets_share_their_worker_s_scheduling_group_at_its_priority(concurrent: Any) -> None:
    """No snippet is a session (a CPU scheduling group) of its own: the kernel would weigh it equally
    with the app whatever its nice value. They run in their worker's group, at the worker's nice."""
    code = ("import os\nprint(open('/proc/self/autogroup').read().split()[0], os.getsid(0) == os.getpid())\n"
            "try:\n    os.setsid()\nexcept OSError:\n    print('setsid refused')\n")
    if not os.path.exists("/proc/self/autogroup"):
        pytest.skip("this kernel has no autogroups")
    for major in MAJORS:
        worker = concurrent.worker(major)
        outs = [worker.run(UNHOOK + code)["stdout"].split("\n") for _ in range(2)]
        groups = {o[0].split()[0] for o in outs}
        assert len(groups) == 1, outs                        # both in the same (the worker's) group
        assert all(o[0].split()[1] == "False" and o[1] == "setsid refused" for o in outs), outs
        # not the app's group; an empty read means the app is in the kernel's default group (a
        # session started before autogroups applied, as in some containers), which is no snippet's
        app_group = (Path("/proc/self/autogroup").read_text().split() or ["(default group)"])[0]
        assert app_group not in groups
    if os.geteuid() == 0:   # the worker could set its group's nice (it owns its /proc entry)
        read = "print(open('/proc/self/autogroup').read().split()[-1])\n"
        assert concurrent.worker("3").run(UNHOOK + read)["stdout"].strip() == "10"


def test_nothing_is_demoted_when_stepping_aside_is_off(concurrent: Any) -> None:
    start = str(min(19, os.nice(0) + 10))
    out = concurrent.worker("3").run(SPIN)
    assert out["stdout"].split() == [start, start, start], out


def test_a_loop_on_the_only_slot_steps_aside_for_a_later_snippet(stepping: Any) -> None:
    """One slot, a loop running to its timeout: a Dense(7) sent after it waits about a second, not five."""
    assert stepping.verify(NORMAL, ("3",), use_cache=False)[0].ok  # warm
    done: list[str] = []
    results: dict[str, Any] = {}

    def go(name: str, code: str, session: str) -> None:
        results[name] = stepping.verify(code, ("3",), use_cache=False, session=session)[0]
        done.append(name)

    loop = threading.Thread(target=go, args=("loop", LOOP, "student-a"))
    loop.start()
    _until(lambda: stepping.queue("3").running == 1)
    dense = threading.Thread(target=go, args=("dense", DENSE7, "student-b"))
    dense.start()
    _until(lambda: stepping.queue("3").waiting == 1 or bool(done) or stepping.queue("3").aside == 1)
    dense.join()
    assert done == ["dense"] and stepping.queue("3").aside == 1   # the loop runs on, outside the slot
    loop.join()
    assert done == ["dense", "loop"]
    assert results["dense"].ok and results["dense"].layers[0].params == 28
    assert results["loop"].error.type == "Timeout"
    assert stepping.queue("3").aside == 0 and stepping.queue("3").running == 0


FILL = ("written = 0\nfor i in range(20):\n    try:\n        with open(f'f{i}.bin', 'wb') as fh:\n"
        "            fh.write(b'x' * (8 * 1024 * 1024 - 4096))\n        written += 1\n    except OSError:\n"
        "        break\nprint('filled', written)\nimport time\ntime.sleep(3)\n")
SAVE = ("import time\nimport numpy as np\ntime.sleep(1.0)\nnp.save('mine.npy', np.zeros(300000))\n"
        "import os\nprint(os.path.getsize('mine.npy'))\n")


@pytest.mark.parametrize("major", MAJORS)
def test_a_snippet_that_fills_its_scratch_leaves_the_one_beside_it_alone(concurrent: Any, major: str) -> None:
    """Each snippet running at once has its own size-limited scratch: filling it (64 MB) does not
    make a classmate's file write fail (it used to, with 'No space left on device')."""
    worker = concurrent.worker(major)
    out: dict[str, dict[str, Any]] = {}
    filler = threading.Thread(target=lambda: out.__setitem__("filler", worker.run(FILL)))
    victim = threading.Thread(target=lambda: out.__setitem__("victim", worker.run(SAVE)))
    filler.start()
    time.sleep(0.3)
    victim.start()
    filler.join()
    victim.join()
    assert out["filler"]["stdout"].split()[:1] == ["filled"], out["filler"]
    assert out["victim"]["error"] is None and out["victim"]["stdout"].strip() == "2400128", out["victim"]
    again = worker.run(SAVE)   # the filled slot was emptied for the next snippet
    assert again["error"] is None and again["stdout"].strip() == "2400128", again
