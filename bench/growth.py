"""Growth: a 10,000-entry synthetic knowledge base fully ingested (seconds, where they go), search
p50/p95 on it, and one `coursebot add` into it (an entry without a snippet, then one with a snippet,
whose time includes verifying it in Keras), each followed by a check that the new entry is found.

Run with `make bench` (or `python bench/growth.py [--entries N]`). Prints numbers; asserts nothing.
The knowledge base is the one `bench/retrieval.py` generates (two short texts to embed per entry).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from retrieval import pct, search_times, synthetic_entries

from kb.core.settings import PROJECT_ROOT, Settings

NEW_ENTRY = """\
id: growth-bench-{n}
title: 학습이 멈춘 것처럼 보일 때 확인할 것 ({n})
lang: ko
tags: [growth-bench, learning rate, 손실]
question: 에폭이 지나도 손실이 줄지 않고 그대로인데 무엇부터 확인해야 하나요? 벤치마크 {n}
answer: |
  학습률이 너무 크거나 작지 않은지, 입력을 정규화했는지, 마지막 층의 활성화 함수와 손실 함수가 맞는지부터
  확인합니다.
answer_en: |
  Check the learning rate first, then whether the inputs are normalised, then whether the last layer's
  activation matches the loss.
"""
SNIPPET = """\
verify:
  - name: dense-shape
    code: |
      import keras
      inputs = keras.Input(shape=(4,))
      outputs = keras.layers.Dense(2)(inputs)
      model = keras.Model(inputs, outputs)
"""


def build_child(n: int, data_dir: Path, out: Path) -> None:
    """Runs in its own process: the full ingest and the search timings."""
    from ingest.index import build, load_index

    settings = Settings(data_dir=data_dir, entries_dir=data_dir.parent / "entries")
    entries = synthetic_entries(n)
    marks: dict[str, float] = {}

    def progress(done: int, total: int) -> None:
        marks.setdefault("embed_start", time.perf_counter())
        if done >= total:
            marks["embed_end"] = time.perf_counter()

    t0 = time.perf_counter()
    stats = build(settings, entries=entries, progress=progress)
    ingest_s = time.perf_counter() - t0
    index = load_index(settings)
    times = search_times(index)
    embed_s = marks.get("embed_end", t0) - marks.get("embed_start", t0)
    out.write_text(json.dumps({
        "entries": n, "texts": sum(len(r.dense_texts) for r in index.records), "ingest_s": ingest_s,
        "embed_s": embed_s, "records": stats.records,
        "p50_ms": pct(times, 0.5), "p95_ms": pct(times, 0.95),
    }))


def embed_batches(sample: int) -> dict[int, float]:
    """Texts per second of the e5 embedder in calls of the ingest's batch (`ingest.embed.BULK_BATCH`)
    and of 512 texts, on a sample of the same texts."""
    from ingest.embed import BULK_BATCH, E5Embeddings, embed_many

    texts = [t for e in synthetic_entries(sample // 2) for t in (e.title, e.question)]
    model = E5Embeddings()
    model.embed_documents(texts[:4])
    rates = {}
    for size in (BULK_BATCH, 512):
        t0 = time.perf_counter()
        embed_many(model, texts, batch_size=size)
        rates[size] = len(texts) / (time.perf_counter() - t0)
    return rates


def cli(*args: str, env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "kb", *args], capture_output=True, text=True, env=env,
                         cwd=PROJECT_ROOT)
    return time.perf_counter() - t0, out


def add_one(tmp: Path, env: dict[str, str], n: int, *, snippet: bool) -> str:
    path = tmp / f"growth-bench-{n}.yaml"
    path.write_text(NEW_ENTRY.format(n=n) + (SNIPPET if snippet else ""), encoding="utf-8")
    seconds, out = cli("add", str(path), env=env)
    if out.returncode != 0:
        return f"add failed: {out.stderr.strip()[-300:]}"
    ask_s, found = cli("ask", f"에폭이 지나도 손실이 줄지 않고 그대로 벤치마크 {n}", "--json", "--no-verify", env=env)
    hits = json.loads(found.stdout).get("hits", []) if found.returncode == 0 else []
    rank = next((i + 1 for i, h in enumerate(hits) if h.get("id") == f"growth-bench-{n}"), None)
    return f"{seconds:.2f} s; then a cold ask finds it at rank {rank} ({ask_s:.2f} s)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=1_000, help="texts for the batch-size comparison")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        build_child(int(args.child[0]), Path(args.child[1]), Path(args.child[2]))
        return
    with tempfile.TemporaryDirectory(prefix="coursebot-growth-") as name:
        tmp = Path(name)
        (tmp / "entries").mkdir()
        data_dir = tmp / "var"
        result = tmp / "result.json"
        load = os.getloadavg()[0]
        subprocess.run([sys.executable, __file__, "--child", str(args.entries), str(data_dir), str(result)],
                       check=True, cwd=PROJECT_ROOT)
        r = json.loads(result.read_text())
        print(f"growth ({os.cpu_count()} cores, load average {load:.1f} at start):")
        print(f"  {r['entries']:,} entries ({r['texts']:,} texts embedded): full ingest {r['ingest_s']:.0f} s "
              f"(embedding {r['embed_s']:.0f} s, the rest {r['ingest_s'] - r['embed_s']:.0f} s; target <= 300 s)")
        print(f"  search on it: p50 {r['p50_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms (target p50 <= 50 ms)")
        env = {**os.environ, "COURSEBOT_DATA_DIR": str(data_dir), "COURSEBOT_ENTRIES_DIR": str(tmp / "entries")}
        print(f"  coursebot add, entry without a snippet: {add_one(tmp, env, 1, snippet=False)} (target <= 2 s)")
        print(f"  coursebot add, entry with one snippet (incl. its Keras verification): "
              f"{add_one(tmp, env, 2, snippet=True)}")
    if args.sample:
        rates = embed_batches(args.sample)
        (ours, _), (big, big_rate) = sorted(rates.items())[0], sorted(rates.items())[-1]
        print(f"  e5 on {args.sample:,} of these texts: {rates[ours]:.1f} texts/s in calls of {ours} (the "
              f"ingest's batch), {big_rate:.1f} texts/s in calls of {big}")


if __name__ == "__main__":
    main()
