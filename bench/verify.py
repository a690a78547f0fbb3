"""Verifier benchmark: cold start, warm p50/p95 per Keras version, cache hits, and concurrency.

Run with `make bench` (prints numbers; asserts nothing). `--before PATH` also measures another
checkout of coursebot (e.g. `git worktree add /tmp/sb-before 806d14f`) in the same run, side by
side, with the same snippets.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Runs inside the checkout under test (its own `verifiers`): a warm verifier that times each
# snippet it is sent (one JSON line in, one out), so that two checkouts can be measured turn by turn.
SERVE = r'''
import json, sys, tempfile, time
from pathlib import Path
from kb.core.settings import Settings
from verifiers import Verifier
with tempfile.TemporaryDirectory() as tmp:
    verifier = Verifier(Settings(data_dir=Path(tmp)))
    try:
        for line in sys.stdin:
            req = json.loads(line)
            t0 = time.perf_counter()
            verifier.verify(req["code"], tuple(req["majors"]), use_cache=req["cache"])
            print(json.dumps(time.perf_counter() - t0), flush=True)
    finally:
        verifier.close()
'''


class Tree:
    """A warm verifier of one checkout, in its own process."""

    def __init__(self, path: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("COURSEBOT_")}
        env["PYTHONPATH"] = str(path)
        self.proc = subprocess.Popen([sys.executable, "-c", SERVE], cwd=path, env=env, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def time(self, code: str, majors: tuple[str, ...], cache: bool = False) -> float:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"code": code, "majors": majors, "cache": cache}) + "\n")
        self.proc.stdin.flush()
        return float(json.loads(self.proc.stdout.readline()))

    def close(self) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=60)
        self.proc.stdout.close()


LOOP = "while True:\n    pass\n"
DENSE7 = "import tensorflow as tf\nd = tf.keras.layers.Dense(7)\ny = d(tf.zeros((2, 3)))\n"


def snippets() -> list[str]:
    sys.path.insert(0, str(ROOT))
    from kb.core.settings import PROJECT_ROOT
    from kb.core.store import load_entries

    return [s.code for e in load_entries(PROJECT_ROOT / "kb" / "entries") for s in e.verify]


def concurrency(codes_timeout: float = 5.0) -> None:
    """A one-line Dense(7) sent while another student's loop runs to its timeout: N=1 vs N=cores."""
    import tempfile

    from kb.core.settings import Settings
    from verifiers import Verifier

    for n in (1, os.cpu_count() or 1):
        with tempfile.TemporaryDirectory() as tmp:
            v = Verifier(Settings(data_dir=Path(tmp), verify_timeout=codes_timeout, verify_concurrency=n))
            try:
                v.verify(DENSE7, ("3",), use_cache=False)
                loop = threading.Thread(target=v.verify, args=(LOOP, ("3",)),
                                        kwargs={"use_cache": False, "session": "a"})
                loop.start()
                while v.queue("3").running < 1:
                    time.sleep(0.005)
                positions: list[int] = []
                t0 = time.perf_counter()
                report = v.verify(DENSE7, ("3",), use_cache=False, session="b", on_wait=positions.append)[0]
                took = time.perf_counter() - t0
                loop.join()
                print(f"  N={n}: Dense(7) behind a {codes_timeout:g} s loop answered in {took:.2f} s "
                      f"(params {report.layers[0].params if report.layers else '?'}; queue positions shown "
                      f"{positions or 'none'})")
            finally:
                v.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--before", type=Path, help="another coursebot checkout to measure side by side")
    args = parser.parse_args()
    codes = snippets()
    labels = ["before", "after"] if args.before else ["this tree"]
    trees = dict(zip(labels, [Tree(p) for p in ([args.before] if args.before else []) + [ROOT]], strict=True))
    times: dict[tuple[str, str], list[float]] = {}
    try:
        for major in ("3", "2"):
            for label, tree in trees.items():
                cold = tree.time("x = 1\n", (major,))
                print(f"  Keras {major} {label:>9}: cold start {cold:.2f} s")
            for turn in range(2):  # turn by turn, so that the machine's load hits both alike
                for i, code in enumerate(codes):
                    order = list(trees.items())
                    for label, tree in order if (turn + i) % 2 else order[::-1]:
                        times.setdefault((major, label), []).append(tree.time(code, (major,)))
        print(f"warm verify over {len(codes)} entry snippets x2 per Keras version (ms):")
        for (major, label), got in times.items():
            got.sort()
            print(f"  Keras {major} {label:>9}: p50 {statistics.median(got) * 1000:.0f}, "
                  f"p95 {got[int(0.95 * (len(got) - 1))] * 1000:.0f}, max {got[-1] * 1000:.0f}")
        for label, tree in trees.items():
            for code in codes:  # fill the cache
                tree.time(code, ("3", "2"), cache=True)
            hits = sorted(tree.time(code, ("3", "2"), cache=True) for code in codes)
            print(f"  cache hit (both versions) {label}: p50 {statistics.median(hits) * 1000:.1f} ms")
    finally:
        for tree in trees.values():
            tree.close()
    print("concurrency:")
    concurrency()


if __name__ == "__main__":
    main()
