"""Load test: a class of simulated students against one app process's core.

30 students (threads) share one `Answerer`, as the sessions of one Streamlit process do. Each asks,
waits for the answer, thinks, and asks again: knowledge-base questions, questions with numbers in
prose, and pasted one-line Keras snippets (each different, so nothing comes from the cache); once a
minute another student pastes a snippet that loops until the verification timeout. Reported per
kind: count, p50/p95/max latency; throughput; peak memory of the process and of its Keras workers.

The run is repeated with N = 1 and N = cores snippets verified at once per Keras worker
(`COURSEBOT_VERIFY_CONCURRENCY`), and once more with N = cores and the workers at another CPU
priority (`COURSEBOT_VERIFY_NICE` 10, or 0 when it is set), side by side; where that setting does not exist yet, only N = 1 is
measured and the table says so. Each run is a fresh process on a shared, pre-warmed data folder.

Run with `make bench` (or `python bench/loadtest.py [--students 30] [--seconds 45]`). The default run
takes about four minutes. Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import fields
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from footprint import memory_kb, tree_memory_kb, worker_pids

from kb.core.settings import PROJECT_ROOT, Settings

KB_QUESTIONS = [
    "bidirectional 쓰면 왜 출력이 128이 되나요?",
    "Embedding 레이어 파라미터 수는 어떻게 계산해요?",
    "return_sequences=True 하면 출력 shape이 어떻게 바뀌나요?",
    "TimeDistributed는 언제 쓰나요?",
    "희소 표현과 분산 표현 차이가 뭔가요?",
    "LSTM 파라미터 수 계산 방법",
    "GlobalMaxPooling1D는 무엇을 하나요?",
    "What does return_sequences do in an LSTM?",
]
NUMBER_QUESTIONS = [
    "LSTM 유닛 {a}개에 입력 차원이 {b}이면 파라미터가 몇 개인가요?",
    "Dense {a}개 뉴런에 입력이 {b}차원이면 가중치 수는요?",
    "단어 {a}개, 임베딩 차원 {b}인 Embedding 층 파라미터는 몇 개예요?",
]
CODE = "import keras\nm = keras.Sequential([keras.Input(({b},)), keras.layers.Dense({a})])\n"
LOOP = "이 코드가 왜 안 끝나요?\n```python\nimport keras\nx = 0\nwhile x >= 0:\n    x += 1\n```"
KINDS = ("kb question", "number question", "pasted code", "looping snippet")
DURING = ("kb question", "pasted code")
ROWS = KINDS + tuple(f"{kind}, during a loop" for kind in DURING)
CONCURRENCY_SETTING = "verify_concurrency"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1) + 0.5))] if ordered else float("nan")


def has_concurrency_setting() -> bool:
    return any(f.name == CONCURRENCY_SETTING for f in fields(Settings))


def question(kind: str, rng: random.Random) -> str:
    a, b = rng.randint(2, 512), rng.randint(2, 512)
    if kind == "kb question":
        return rng.choice(KB_QUESTIONS)
    if kind == "number question":
        return rng.choice(NUMBER_QUESTIONS).format(a=a, b=b)
    return f"이 코드 출력 shape 맞나요?\n```python\n{CODE.format(a=a, b=b)}```"


def run(data_dir: Path, students: int, seconds: float, out: Path, seed: int) -> None:
    """One measured run in this process (started by ``main`` with the concurrency in the environment)."""
    from kb.answer import Answerer

    settings = Settings.from_env({**os.environ, "COURSEBOT_DATA_DIR": str(data_dir)})
    answerer = Answerer(settings)
    for q in KB_QUESTIONS:  # the knowledge base's own snippets come from the verification cache
        answerer.answer(q)
    answerer.answer(question("pasted code", random.Random(-1 - seed)))  # both Keras workers started
    samples: dict[str, list[float]] = {k: [] for k in KINDS}
    spans: dict[str, list[tuple[float, float]]] = {k: [] for k in KINDS}   # (start, end) of each answer
    errors: list[str] = []
    lock = threading.Lock()
    stop = time.perf_counter() + seconds
    peak = {"app": 0, "workers": 0}

    def timed(kind: str, text: str) -> None:
        t0 = time.perf_counter()
        try:
            answerer.answer(text)
        except Exception as exc:  # a load test counts failures, it does not stop on them
            with lock:
                errors.append(f"{kind}: {type(exc).__name__}: {exc}")
            return
        t1 = time.perf_counter()
        with lock:
            samples[kind].append(t1 - t0)
            spans[kind].append((t0, t1))

    def student(n: int) -> None:
        rng = random.Random(seed * 1000 + n)  # each run its own snippets: none comes from an earlier run's cache
        time.sleep(rng.uniform(0, 3))
        while time.perf_counter() < stop:
            kind = rng.choices(KINDS[:3], weights=(5, 2, 3))[0]
            timed(kind, question(kind, rng))
            time.sleep(rng.uniform(2, 8))  # reading the answer, typing the next question

    def looper() -> None:
        time.sleep(2)
        while time.perf_counter() < stop:
            began = time.perf_counter()
            timed("looping snippet", LOOP)
            time.sleep(max(0.0, min(began + 60, stop) - time.perf_counter()))

    def sampler() -> None:
        while time.perf_counter() < stop + 5:
            app = memory_kb(os.getpid())[0]
            workers = sum(tree_memory_kb(pid)[1] for pid in worker_pids(answerer.verifier).values())
            peak["app"] = max(peak["app"], app)
            peak["workers"] = max(peak["workers"], workers)
            time.sleep(0.5)

    threads = [threading.Thread(target=student, args=(n,), daemon=True) for n in range(students)]
    threads += [threading.Thread(target=looper, daemon=True)]
    watcher = threading.Thread(target=sampler, daemon=True)
    started = time.perf_counter()
    watcher.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    watcher.join()
    close = getattr(answerer.verifier, "close", None)
    if close:
        close()
    done = sum(len(v) for v in samples.values())
    # The targets are stated "while another student's snippet runs": the answers that overlapped a loop.
    loops = spans["looping snippet"]
    for kind in DURING:
        samples[f"{kind}, during a loop"] = [b - a for a, b in spans[kind]
                                             if any(a < end and b > start for start, end in loops)]
    out.write_text(json.dumps({"samples": samples, "errors": errors[:5], "error_count": len(errors),
                               "throughput": done / elapsed, "elapsed": elapsed,
                               "peak_app_mb": peak["app"] / 1024, "peak_workers_mb": peak["workers"] / 1024}))


def table(results: dict[str, dict[str, object]]) -> None:
    names = list(results)
    print(f"  {'kind':28s}" + "".join(f" | {n + ': n, p50 / p95 / max (s)':>40s}" for n in names))
    for kind in ROWS:
        cells = []
        for n in names:
            values = results[n]["samples"].get(kind, [])  # type: ignore[attr-defined]
            cells.append(f"{len(values):3d}, {pct(values, .5):5.2f} / {pct(values, .95):5.2f} / "
                         f"{max(values, default=float('nan')):5.2f}")
        print(f"  {kind:28s}" + "".join(f" | {c:>40s}" for c in cells))
    print(f"  {'throughput':28s}" + "".join(f" | {results[n]['throughput']:>34.2f} ans/s" for n in names))
    memory = [f"app RSS {results[n]['peak_app_mb']:.0f} MB, workers PSS {results[n]['peak_workers_mb']:.0f} MB"
              for n in names]
    print(f"  {'peak memory':28s}" + "".join(f" | {m:>40s}" for m in memory))
    for n in names:
        if results[n]["error_count"]:
            print(f"  {n}: {results[n]['error_count']} failed answers, e.g. {results[n]['errors']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=45, help="measured time of each run")
    parser.add_argument("--run", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        run(Path(args.run[0]), args.students, args.seconds, Path(args.run[1]), int(args.run[2]))
        return
    cores = os.cpu_count() or 1
    levels = [1, cores] if has_concurrency_setting() and cores > 1 else [1]
    nice = Settings.from_env().verify_nice
    # (label, snippets at once per worker, CPU priority of the workers): the last run shows what a
    # lower priority for the workers (COURSEBOT_VERIFY_NICE) changes for the questions.
    other = 0 if nice else 10
    runs = [(f"N={n}", n, nice) for n in levels] + [(f"N={levels[-1]}, nice {other}", levels[-1], other)]
    results: dict[str, dict[str, object]] = {}
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="coursebot-load-") as tmp:
        data_dir = Path(tmp) / "var"
        for i, (label, n, level) in enumerate(runs):
            out = Path(tmp) / f"run{i}.json"
            env = {**os.environ, "COURSEBOT_VERIFY_CONCURRENCY": str(n), "COURSEBOT_VERIFY_NICE": str(level)}
            subprocess.run([sys.executable, __file__, "--students", str(args.students), "--seconds",
                            str(args.seconds), "--run", str(data_dir), str(out), str(i)], check=True, env=env,
                           cwd=PROJECT_ROOT)
            results[label] = json.loads(out.read_text())
    print(f"load test: {args.students} students + 1 looping snippet/min against one Answerer, "
          f"{args.seconds:.0f} s per run ({cores} cores, load average {load:.1f} at start; "
          f"Keras workers at nice {nice} unless the column says otherwise):")
    if len(levels) == 1:
        print("  (COURSEBOT_VERIFY_CONCURRENCY is not a setting of this version: only N = 1 exists)")
    table(results)


if __name__ == "__main__":
    main()
