"""Verifier benchmark: cold start, warm p50/p95 per snippet per Keras version, cache-hit time.

Run with `make bench`. Prints numbers; asserts nothing.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from kb.core.settings import PROJECT_ROOT, Settings
from kb.core.store import load_entries
from verifiers import Verifier


def main() -> None:
    entries = load_entries(PROJECT_ROOT / "kb" / "entries")
    snippets = [s.code for e in entries for s in e.verify]
    with tempfile.TemporaryDirectory() as tmp:
        verifier = Verifier(Settings(data_dir=Path(tmp)))
        try:
            for major in ("3", "2"):
                started = time.perf_counter()
                verifier.verify("x = 1\n", (major,), use_cache=False)
                cold = time.perf_counter() - started
                times = []
                for code in snippets:
                    t0 = time.perf_counter()
                    verifier.verify(code, (major,), use_cache=False)
                    times.append(time.perf_counter() - t0)
                times.sort()
                p95 = times[int(0.95 * (len(times) - 1))]
                print(f"Keras {major}: cold start {cold:.2f} s; warm over {len(times)} snippets: "
                      f"p50 {statistics.median(times) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
                      f"max {times[-1] * 1000:.0f} ms")
            hits = []
            for code in snippets:
                t0 = time.perf_counter()
                verifier.verify(code, ("3", "2"))
                hits.append(time.perf_counter() - t0)
            print(f"cache hit (both versions): p50 {statistics.median(hits) * 1000:.1f} ms")
        finally:
            verifier.close()


if __name__ == "__main__":
    main()
