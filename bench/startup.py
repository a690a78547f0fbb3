"""Cold start: a fresh-process `coursebot ask` next to a fresh-process `import tensorflow`, and what
Kiwi's start costs with the dictionaries it used to load and with the language model alone.

Run with `make bench` (or `python bench/startup.py [--runs N]`). The runs are interleaved so that a
busy machine slows every column alike; each figure is the median. Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kb.core.settings import PROJECT_ROOT

QUESTION = "LSTM(64) 뒤 Dense(64) 파라미터 수는 어떻게 계산하나요?"
KIWI_BEFORE = "from kiwipiepy import Kiwi; Kiwi(load_multi_dict=False).tokenize('파라미터 수')"
KIWI_NOW = ("from kiwipiepy import Kiwi; Kiwi(load_default_dict=False, load_typo_dict=False, "
            "load_multi_dict=False).tokenize('파라미터 수')")


def timed(cmd: list[str], env: dict[str, str], cwd: Path = PROJECT_ROOT) -> float:
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd)
    elapsed = time.perf_counter() - t0
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])} failed: {out.stderr.strip()[-400:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each command (median reported)")
    parser.add_argument("--baseline", type=Path, help="another checkout (e.g. `git worktree add` of an older "
                        "commit) whose cold ask is timed in the same interleaved runs")
    args = parser.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory(prefix="coursebot-startup-") as tmp:
        env = {**os.environ, "COURSEBOT_DATA_DIR": str(Path(tmp) / "var")}
        ask = [py, "-m", "kb", "ask", QUESTION, "--json"]
        # Build the index and fill the verification cache once: a cold start is a new process, not a
        # new installation.
        timed(ask, env)
        base_env = {**env, "COURSEBOT_DATA_DIR": str(Path(tmp) / "baseline-var")}
        if args.baseline:
            timed(ask, base_env, args.baseline)
        commands = {
            "ask": ask,
            "ask --no-verify": [*ask, "--no-verify"],
            "import tensorflow": [py, "-c", "import tensorflow"],
            "Kiwi before (default+typo dicts)": [py, "-c", KIWI_BEFORE],
            "Kiwi now (language model only)": [py, "-c", KIWI_NOW],
            "python -c pass": [py, "-c", "pass"],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        if args.baseline:
            times["ask, baseline checkout"] = []
        for _ in range(args.runs):
            for name, cmd in commands.items():
                times[name].append(timed(cmd, env))
            if args.baseline:
                times["ask, baseline checkout"].append(timed(ask, base_env, args.baseline))
    med = {name: statistics.median(values) for name, values in times.items()}
    load = os.getloadavg()[0]
    print(f"cold start, median of {args.runs} interleaved runs (load average {load:.1f} on {os.cpu_count()} cores):")
    for name, value in med.items():
        print(f"  {name:34s} {value:6.2f} s")
    tf = med["import tensorflow"]
    print(f"cold `coursebot ask` / `import tensorflow`: {med['ask'] / tf:.2f}x "
          f"(--no-verify {med['ask --no-verify'] / tf:.2f}x; target <= 0.35x)")
    if args.baseline:
        print(f"baseline checkout's cold ask / `import tensorflow`: {med['ask, baseline checkout'] / tf:.2f}x")


if __name__ == "__main__":
    main()
