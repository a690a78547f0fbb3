"""Memory footprint: what one app process's core holds (the `Answerer`: index, e5, Kiwi, question
log), what Streamlit adds on top, and what each idle Keras worker (one per Keras major version,
its sandbox included) holds. RSS and PSS (proportional set size: shared pages divided among the
processes that share them, so PSS values add up across processes) from /proc/PID/smaps_rollup.

Run with `make bench` (or `python bench/footprint.py`). Linux only. Prints numbers; asserts nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kb.core.settings import PROJECT_ROOT, Settings


def memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process in kB; (0, 0) if it is gone or unreadable."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0, 0
    values = {line.split(":")[0]: int(line.split()[1]) for line in text.splitlines()[1:] if line.endswith("kB")}
    return values.get("Rss", 0), values.get("Pss", 0)


def tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:   # a process may end while it is read (a snippet's child finishing)
            tasks = list(Path(f"/proc/{p}/task").glob("*/children"))
        except OSError:
            continue
        for task in tasks:
            try:
                todo.extend(int(c) for c in task.read_text().split())
            except OSError:
                continue
    return out


def tree_memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) summed over ``pid``'s process tree (RSS double-counts shared pages; PSS does not)."""
    rss = pss = 0
    for p in tree(pid):
        r, s = memory_kb(p)
        rss, pss = rss + r, pss + s
    return rss, pss


def worker_pids(verifier: object) -> dict[str, int]:
    """The root process of each running Keras worker (``{major: pid}``).

    Reads the verifier's workers (``_workers``: major -> worker holding its ``Popen`` either as
    ``_gen.proc`` or ``_proc``): a bench may look inside, the app never does.
    """
    pids = {}
    for major, worker in dict(getattr(verifier, "_workers", {})).items():
        gen = getattr(worker, "_gen", None)
        proc = getattr(gen, "proc", None) if gen is not None else getattr(worker, "_proc", None)
        if proc is not None and proc.poll() is None:
            pids[str(major)] = proc.pid
    return pids


def mb(kb: int) -> str:
    return f"{kb / 1024:.0f} MB"


def child(data_dir: Path) -> None:
    from kb.answer import Answerer

    settings = Settings(data_dir=data_dir)
    base = memory_kb(os.getpid())
    answerer = Answerer(settings)
    answerer.answer("LSTM(64)의 파라미터 수는 어떻게 계산하나요?", verify=False)
    answerer.answer("Embedding 레이어 출력 shape", verify=False)
    core = memory_kb(os.getpid())
    verifier = answerer.verifier
    verifier.verify("import keras\nm = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])\n",
                    use_cache=False)
    after_run = memory_kb(os.getpid())
    workers = {major: tree_memory_kb(pid) for major, pid in sorted(worker_pids(verifier).items())}
    import streamlit  # noqa: F401 - measured: what the UI adds to the same process

    with_ui = memory_kb(os.getpid())
    print(f"  interpreter with nothing loaded:          RSS {mb(base[0])}, PSS {mb(base[1])}")
    print(f"  app core (Answerer after two questions):  RSS {mb(core[0])}, PSS {mb(core[1])}")
    print(f"  ... after its first verification:         RSS {mb(after_run[0])}, PSS {mb(after_run[1])}")
    print(f"  ... plus Streamlit imported (app process): RSS {mb(with_ui[0])}, PSS {mb(with_ui[1])}")
    for major, (rss, pss) in workers.items():
        print(f"  idle Keras {major} worker (process tree):     RSS {mb(rss)}, PSS {mb(pss)}")
    if not workers:
        print("  no Keras worker was running to measure (is the sandbox available?)")
    total = with_ui[1] + sum(p for _, p in workers.values())
    print(f"  one app process with its workers: about {mb(total)} (PSS sum)")
    close = getattr(verifier, "close", None)
    if close:
        close()


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(Path(sys.argv[2]))
        return
    print(f"memory footprint ({os.cpu_count()} cores):")
    with tempfile.TemporaryDirectory(prefix="coursebot-footprint-") as tmp:
        # A fresh process, so that nothing this script imported is counted.
        subprocess.run([sys.executable, __file__, "--child", str(Path(tmp) / "var")], check=True,
                       cwd=PROJECT_ROOT)


if __name__ == "__main__":
    main()
