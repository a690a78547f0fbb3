"""Verifier benchmark: cold start, warm p50/p95 per Keras version, cache hits, and concurrency.

Run with `make bench` (prints numbers; asserts nothing). `--before PATH` also measures another
checkout of coursebot (e.g. `git worktree add /tmp/sb-before 806d14f`) in the same run, side by
side, with the same snippets.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Runs inside the checkout under test (its own `verifiers`), prints one JSON line.
MEASURE = r'''
import json, statistics, sys, tempfile, time
from pathlib import Path
from kb.core.settings import Settings
from verifiers import Verifier
snippets = json.loads(sys.stdin.read())
out = {}
with tempfile.TemporaryDirectory() as tmp:
    verifier = Verifier(Settings(data_dir=Path(tmp)))
    try:
        for major in ("3", "2"):
            t0 = time.perf_counter()
            verifier.verify("x = 1\n", (major,), use_cache=False)
            cold = time.perf_counter() - t0
            times = []
            for _ in range(2):
                for code in snippets:
                    t0 = time.perf_counter()
                    verifier.verify(code, (major,), use_cache=False)
                    times.append(time.perf_counter() - t0)
            times.sort()
            out[major] = {"cold": cold, "p50": statistics.median(times),
                          "p95": times[int(0.95 * (len(times) - 1))], "max": times[-1], "n": len(times)}
        hits = []
        for code in snippets:
            t0 = time.perf_counter()
            verifier.verify(code, ("3", "2"))
            hits.append(time.perf_counter() - t0)
        out["hit"] = statistics.median(hits)
    finally:
        verifier.close()
print(json.dumps(out))
'''

LOOP = "while True:\n    pass\n"
DENSE7 = "import tensorflow as tf\nd = tf.keras.layers.Dense(7)\ny = d(tf.zeros((2, 3)))\n"


def snippets() -> list[str]:
    sys.path.insert(0, str(ROOT))
    from kb.core.settings import PROJECT_ROOT
    from kb.core.store import load_entries

    return [s.code for e in load_entries(PROJECT_ROOT / "kb" / "entries") for s in e.verify]


def measure(tree: Path, codes: list[str]) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COURSEBOT_")}
    env["PYTHONPATH"] = str(tree)
    done = subprocess.run([sys.executable, "-c", MEASURE], input=json.dumps(codes), cwd=tree, env=env,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


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
    trees = [("before", args.before)] if args.before else []
    trees.append(("after" if args.before else "this tree", ROOT))
    results = {label: measure(tree, codes) for label, tree in trees}
    print(f"warm verify over {len(codes)} entry snippets x2 per Keras version (ms):")
    for major in ("3", "2"):
        for label, r in results.items():
            m = r[major]
            assert isinstance(m, dict)
            print(f"  Keras {major} {label:>9}: cold {m['cold']:.2f} s, p50 {m['p50'] * 1000:.0f}, "
                  f"p95 {m['p95'] * 1000:.0f}, max {m['max'] * 1000:.0f}")
    for label, r in results.items():
        print(f"  cache hit (both versions) {label}: p50 {float(r['hit']) * 1000:.1f} ms")  # type: ignore[arg-type]
    print("concurrency:")
    concurrency()


if __name__ == "__main__":
    main()
