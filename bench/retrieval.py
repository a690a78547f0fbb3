"""Retrieval benchmark: ingest time, cold-process `coursebot ask`, warm search p50/p95, and a
synthetic knowledge base of 10,000 entries (ingest time, ask p50/p95, size on disk, peak memory).

Run with `make bench` (or `python bench/retrieval.py [--synthetic N]`). Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kb.core.settings import PROJECT_ROOT, Settings

if TYPE_CHECKING:
    from ingest.index import Index

DEV_SET = PROJECT_ROOT / "tests" / "data" / "dev_questions.jsonl"


def search_times(index: Index, n: int = 100) -> list[float]:
    """Milliseconds per warm search over ``n`` synthetic student questions (same seed every run)."""
    from kb.search import Searcher

    searcher = Searcher(index)
    rng = random.Random(1)
    searcher.search("warm up")
    times = []
    for _ in range(n):
        a, b = rng.sample(WORDS, 2)
        t1 = time.perf_counter()
        searcher.search(f"{a} 뒤에 {b} 쓰면 {rng.choice(TOPICS)} 어떻게 돼요?")
        times.append((time.perf_counter() - t1) * 1000)
    return times


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1) + 0.5))]


def cold_ask(data_dir: Path, question: str, *extra: str, env: dict[str, str] | None = None,
             runs: int = 3) -> float:
    times = []
    full_env = {**os.environ, "COURSEBOT_DATA_DIR": str(data_dir), **(env or {})}
    for _ in range(runs):
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, "-m", "kb", "ask", question, "--json", *extra],
                             capture_output=True, text=True, env=full_env, cwd=PROJECT_ROOT)
        times.append(time.perf_counter() - t0)
        if out.returncode != 0:
            raise SystemExit(f"ask failed: {out.stderr.strip()}")
    return statistics.median(times)


def real_entries() -> None:
    from ingest.index import build, load_index
    from kb.evaluate import load_questions
    from kb.search import Searcher

    with tempfile.TemporaryDirectory(prefix="coursebot-bench-") as tmp:
        settings = Settings(data_dir=Path(tmp))
        t0 = time.perf_counter()
        stats = build(settings)
        full = time.perf_counter() - t0
        t0 = time.perf_counter()
        build(settings)
        again = time.perf_counter() - t0
        print(f"real entries: full ingest {full:.2f} s for {stats.entries} entries; "
              f"re-ingest with nothing changed {again:.2f} s")

        index = load_index(settings)
        searcher = Searcher(index)
        questions = [q.q for q in load_questions(DEV_SET)]
        searcher.search("warm up")
        times = []
        for q in questions * 3:
            t1 = time.perf_counter()
            searcher.search(q)
            times.append((time.perf_counter() - t1) * 1000)
        print(f"warm search over {len(times)} questions: p50 {pct(times, 0.5):.1f} ms, "
              f"p95 {pct(times, 0.95):.1f} ms")

        q = "LSTM(64) 뒤 Dense(64) 파라미터 수"
        no_verify = cold_ask(settings.data_dir, q, "--no-verify")
        # Fill the verification cache once, then time cold processes that find it cached.
        first = cold_ask(settings.data_dir, q, runs=1)
        cached = cold_ask(settings.data_dir, q)
        oos = cold_ask(settings.data_dir, "PyTorch DataLoader 사용법")
        bigram_dir = Path(tmp) / "bigram"
        build(Settings(data_dir=bigram_dir, tokenizer="bigram"))
        bigram = cold_ask(bigram_dir, q, "--no-verify", env={"COURSEBOT_TOKENIZER": "bigram"})
        print(f"cold-process `coursebot ask` (median of 3): {cached:.2f} s with cached verifications, "
              f"{no_verify:.2f} s with --no-verify, {oos:.2f} s out of scope; "
              f"{first:.2f} s the first time (starts the Keras workers)")
        print(f"cold-process ask, tokenizer kiwi vs bigram (--no-verify): {no_verify:.2f} s vs {bigram:.2f} s")


WORDS = ["LSTM", "GRU", "SimpleRNN", "Conv1D", "Dense", "Embedding", "Bidirectional", "TimeDistributed",
         "Dropout", "MaxPooling1D", "Attention", "LayerNormalization", "BatchNormalization", "Flatten"]
TOPICS = ["파라미터 수", "출력 shape", "기본값", "학습이 느린 이유", "과적합", "입력 차원", "가중치 초기화",
          "마스킹", "패딩", "배치 크기", "학습률", "손실 함수", "활성화 함수", "메모리 사용량"]


def synthetic_entries(n: int) -> list:
    from kb.core.schema import Entry

    rng = random.Random(0)
    out = []
    for i in range(n):
        a, b = rng.sample(WORDS, 2)
        topic = rng.choice(TOPICS)
        units = rng.choice([16, 32, 64, 128, 256])
        out.append(Entry(
            id=f"synthetic-{i:05d}",
            title=f"{a}({units}) 다음 {b}의 {topic} #{i}",
            question=f"{a} 레이어 뒤에 {b}를 두면 {topic}은 어떻게 되나요? (사례 {i})",
            answer=(f"{a}({units})의 출력은 {b}로 들어갑니다. {topic}은 설정에 따라 달라지며, "
                    f"예를 들어 units={units}이면 계산이 바뀝니다. 사례 번호 {i}. ") * 3,
            tags=[a, b, topic],
        ))
    return out


def synthetic_child(n: int, out_path: Path) -> None:
    """Runs in its own process so that its peak memory is its own."""
    from ingest.index import build, load_index

    with tempfile.TemporaryDirectory(prefix="coursebot-synth-") as tmp:
        settings = Settings(data_dir=Path(tmp) / "var", entries_dir=Path(tmp) / "entries")
        settings.entries_dir.mkdir()
        entries = synthetic_entries(n)
        t0 = time.perf_counter()
        stats = build(settings, entries=entries)
        ingest_s = time.perf_counter() - t0
        size = sum(p.stat().st_size for p in stats.path.rglob("*") if p.is_file())
        t0 = time.perf_counter()
        index = load_index(settings)
        load_s = time.perf_counter() - t0
        times = search_times(index)
        t0 = time.perf_counter()
        build(settings, entries=entries)
        reingest_s = time.perf_counter() - t0
    out_path.write_text(json.dumps({
        "entries": n, "vectors": int(index.dense.ntotal) if index.dense is not None else 0,
        "ingest_s": ingest_s, "reingest_s": reingest_s, "load_s": load_s, "size_mb": size / 1e6,
        "p50_ms": pct(times, 0.5), "p95_ms": pct(times, 0.95),
    }))


def synthetic(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        subprocess.run([sys.executable, __file__, "--synthetic-child", str(n), str(out)], check=True,
                       cwd=PROJECT_ROOT)
        peak_mb = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before) / 1024
        r = json.loads(out.read_text())
    print(f"synthetic KB of {r['entries']:,} entries ({r['vectors']:,} vectors): full ingest {r['ingest_s']:.0f} s, "
          f"re-ingest unchanged {r['reingest_s']:.1f} s, index load {r['load_s']:.2f} s, "
          f"size on disk {r['size_mb']:.1f} MB, search p50 {r['p50_ms']:.1f} ms / p95 {r['p95_ms']:.1f} ms, "
          f"peak memory {peak_mb:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--synthetic", type=int, default=10_000, help="entries in the synthetic KB (0 = skip)")
    parser.add_argument("--synthetic-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.synthetic_child:
        synthetic_child(int(args.synthetic_child[0]), Path(args.synthetic_child[1]))
        return
    real_entries()
    if args.synthetic:
        synthetic(args.synthetic)


if __name__ == "__main__":
    main()
