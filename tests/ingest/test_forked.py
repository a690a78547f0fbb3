"""Kiwi in a forked process (a cold `coursebot ask`): the same morphemes, and a clean fallback."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from kb.core.settings import PROJECT_ROOT, Settings

TEXTS = ["LSTM(64) 뒤 Dense(64) 파라미터 수는 어떻게 계산하나요?", "양방향 레이어를 쓰면 출력 차원이 왜 두 배가 돼요",
         "임베딩 층의 가중치 개수", "return_sequences 옵션은 언제 켜야 하나요"]

# Run in a fresh interpreter: forking is for a one-shot process without threads, not for pytest's.
SCRIPT = f"""
import json, os, signal
from ingest.tokens import KIWI_HELPER, _kiwi_morphemes, kiwi_tokens, start_kiwi_early
texts = {TEXTS!r}
assert start_kiwi_early() and KIWI_HELPER.pid
child = KIWI_HELPER.pid
hangul = [" ".join(__import__("re").findall("[가-힣]+", t)) for t in texts]
from_child = [json.loads(KIWI_HELPER.ask(h.encode())) for h in hangul]
own = [kiwi_tokens(t) for t in texts]  # still through the child
os.kill(child, signal.SIGKILL)          # the child dies: the next call falls back to Kiwi in this process
after = [kiwi_tokens(t) for t in texts]
gone = KIWI_HELPER.pid == 0 and not KIWI_HELPER.running
local = [_kiwi_morphemes(" ".join(__import__("re").findall("[가-힣]+", t))) for t in texts]
try:
    os.waitpid(child, os.WNOHANG)
    reaped = False
except ChildProcessError:
    reaped = True
print(json.dumps({{"child": from_child, "own": own, "after": after, "local": local, "gone": gone,
                  "reaped": reaped}}, ensure_ascii=False))
"""


def test_the_forked_kiwi_gives_the_same_morphemes_and_a_dead_one_falls_back() -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, cwd=PROJECT_ROOT,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout)
    assert got["child"] == got["local"] == got["own"] == got["after"]
    assert all(got["local"]) and "파라미터" in got["local"][0]
    assert got["gone"] and got["reaped"]


def test_a_cold_ask_leaves_no_process_behind(built_index: Settings) -> None:
    """The command-line entry point starts the child and reaps it: no orphan, the same answer."""
    cmd = [sys.executable, "-m", "kb", "ask", TEXTS[0], "--json", "--no-verify"]
    env = {**os.environ, "COURSEBOT_DATA_DIR": str(built_index.data_dir)}
    before = _ask_processes()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=PROJECT_ROOT, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout)["answered"] is True
    assert _ask_processes() - before == set()


def _ask_processes() -> set[int]:
    """Processes running `-m kb ask` (an orphaned Kiwi child would keep its parent's command line)."""
    found = set()
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if b"kb\x00ask" in f.read():
                        found.add(int(pid))
            except OSError:
                pass
    return found


def test_bulk_tokenizing_on_every_core_gives_the_same_tokens_as_one_by_one() -> None:
    from ingest.tokens import BULK_MIN, tokenize, tokenize_many

    texts = [f"{t} 사례 {i}번, Dense({i}) 와 return_sequences" for i, t in enumerate(TEXTS * (BULK_MIN // 4 + 2))]
    texts[3] = "LSTM(64) only Latin here"   # no Hangul at all
    texts[5] = ""
    assert tokenize_many(texts, "kiwi") == [tokenize(t, "kiwi") for t in texts]
    assert tokenize_many(texts, "bigram") == [tokenize(t, "bigram") for t in texts]
