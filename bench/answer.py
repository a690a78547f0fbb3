"""Answer benchmark: warm ``answer()`` with a question-built verification, and code detection time.

Run with `make bench`. Prints numbers; asserts nothing.

* warm answer: one Answerer (index loaded, both Keras workers started), every prose question of
  tests/data/prose_questions.jsonl asked once with an empty verification cache (each builds its
  configuration in Keras 3 and 2), then asked again (cache hits): p50/p95 of each pass.
* code detection: ``extract_code`` on pasted scripts of 10/100/300/1,000 lines (no Keras names,
  the old worst case) and the same with a Keras model in the middle.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path

from kb.core.settings import PROJECT_ROOT, Settings
from kb.question import extract_code

QUESTIONS = PROJECT_ROOT / "tests" / "data" / "prose_questions.jsonl"


def _percentiles(times: list[float]) -> str:
    times = sorted(times)
    p95 = times[int(0.95 * (len(times) - 1))]
    return f"p50 {statistics.median(times) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms"


def warm_answers() -> None:
    from ingest.index import build
    from kb.answer import Answerer

    questions = [json.loads(line)["q"] for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line]
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), entries_dir=PROJECT_ROOT / "kb" / "entries")
        build(settings)
        answerer = Answerer(settings, log=False)
        try:
            answerer.answer("LSTM(8) 파라미터 수, 입력 (None, 3, 2)")   # starts both workers
            for label in ("built (cache empty)", "repeated (cache hit)"):
                times, built = [], 0
                for question in questions:
                    t0 = time.perf_counter()
                    answer = answerer.answer(question)
                    times.append(time.perf_counter() - t0)
                    built += answer.built is not None and answer.built.ok
                print(f"warm answer with a question-built verification, {label}: {_percentiles(times)} "
                      f"over {len(times)} questions ({built} with a verified build)")
        finally:
            answerer.close()


def detection() -> None:
    prose_line = "value_{i} = compute_{i}(alpha, beta) + offset * {i}"
    model = ["model = Sequential([", "    LSTM(64, input_shape=(10, 3)),", "    Dense(1),", "])"]
    for n in (10, 100, 300, 1000):
        plain = "\n".join(prose_line.format(i=i) for i in range(n)) + "\n이 코드 왜 느려요?"
        lines = [prose_line.format(i=i) for i in range(n)]
        mixed = "\n".join(lines[: n // 2] + model + lines[n // 2:]) + "\n이 모델 파라미터는?"
        row = []
        for text in (plain, mixed):
            times = []
            for _ in range(3):
                t0 = time.perf_counter()
                extract_code(text)
                times.append(time.perf_counter() - t0)
            row.append(f"{statistics.median(times) * 1000:.1f} ms")
        print(f"code detection, {n:>5} lines ({len(plain):,} chars): no Keras {row[0]}, with a model {row[1]}")


if __name__ == "__main__":
    detection()
    warm_answers()
