"""`coursebot add` under stress: concurrent adds, a kill mid-way, refused input. Real processes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import faiss
import numpy as np
import pytest

from ingest.index import build, current_generation, load_index
from kb.core.settings import PROJECT_ROOT, Settings
from kb.search import Searcher
from tests.conftest import ENTRIES_DIR

CONCURRENT = 8   # adds started at once; each waits for the index lock in turn
SEED = ["return-sequences", "embedding-params", "gru-vs-lstm"]
TOPICS = ["마스킹", "학습률 스케줄", "가중치 감쇠", "조기 종료", "배치 정규화", "레이어 정규화", "어텐션 마스크",
          "그래디언트 클리핑", "혼합 정밀도", "체크포인트", "콜백", "텍스트 벡터화", "시퀀스 패딩", "토큰화",
          "클래스 가중치", "검증 분할", "임베딩 고정", "사전학습 임베딩", "양자화", "모델 저장"]


def entry_yaml(n: int) -> str:
    topic = TOPICS[n]
    return (f"id: stress-{n:02d}\ntitle: Keras에서 {topic} 설정하기 {n}\nlang: ko\ntags: [stress{n}]\n"
            f"question: {topic}은 Keras에서 어떻게 설정하나요? 코드명 zeta{n}\n"
            f"answer: |\n  {topic}은 해당 레이어나 콜백의 인자로 설정합니다. 코드명 zeta{n}.\n")


def env_for(settings: Settings) -> dict[str, str]:
    return {**os.environ, "COURSEBOT_DATA_DIR": str(settings.data_dir),
            "COURSEBOT_ENTRIES_DIR": str(settings.entries_dir)}


def seeded(tmp_path: Path) -> Settings:
    entries = tmp_path / "entries"
    entries.mkdir()
    for name in SEED:
        shutil.copy(ENTRIES_DIR / f"{name}.yaml", entries)
    settings = Settings(data_dir=tmp_path / "var", entries_dir=entries)
    build(settings)
    return settings


def add(settings: Settings, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kb", "add", str(path)], capture_output=True, text=True,
                          env=env_for(settings), cwd=PROJECT_ROOT, timeout=600)


def assert_consistent(settings: Settings) -> None:
    index = load_index(settings)
    files = sorted(p.stem for p in settings.entries_dir.glob("*.yaml"))
    manifest = json.loads((index.path / "manifest.json").read_text())
    assert sorted(k.removeprefix("entry:") for k in manifest["records"]) == files
    assert manifest["count"] == len(index.records) == len(files)
    dense = faiss.read_index(str(index.path / "dense.faiss"))
    rows = np.load(index.path / "rows.npy")
    assert dense.ntotal == len(rows) and set(rows.tolist()) == set(range(len(files)))


def test_concurrent_adds_all_land_and_are_searchable(tmp_path: Path) -> None:
    settings = seeded(tmp_path)
    paths = []
    for n in range(CONCURRENT):
        p = tmp_path / f"in-{n}.yaml"
        p.write_text(entry_yaml(n), encoding="utf-8")
        paths.append(p)
    with ThreadPoolExecutor(max_workers=CONCURRENT) as pool:
        results = list(pool.map(lambda p: add(settings, p), paths))
    assert [r.returncode for r in results] == [0] * CONCURRENT, [r.stderr for r in results if r.returncode]
    assert len(list(settings.entries_dir.glob("stress-*.yaml"))) == CONCURRENT
    assert not list(settings.entries_dir.glob(".*tmp*"))
    assert_consistent(settings)
    searcher = Searcher(load_index(settings))
    for n in range(CONCURRENT):
        assert searcher.search(f"{TOPICS[n]} 설정 zeta{n}").hits[0].id == f"stress-{n:02d}"


@pytest.mark.sandbox
def test_an_add_killed_mid_way_leaves_no_partial_file_and_a_usable_index(tmp_path: Path) -> None:
    settings = seeded(tmp_path)
    before = current_generation(settings.index_dir)
    slow = tmp_path / "slow.yaml"
    slow.write_text(entry_yaml(0).replace("stress-00", "killed-entry") + (
        "verify:\n  - name: s\n    code: |\n      import tensorflow as tf\n"
        "      y = tf.keras.layers.Dense(2)(tf.zeros((1, 3)))\n    expect: {ok: true}\n"), encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "kb", "add", str(slow)], env=env_for(settings),
                            cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    time.sleep(2.0)  # it is validating / starting the Keras workers
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert not (settings.entries_dir / "killed-entry.yaml").exists()
    assert sorted(p.name for p in settings.entries_dir.iterdir() if not p.name.startswith(".entries.lock")) == \
        sorted(f"{n}.yaml" for n in SEED)
    assert current_generation(settings.index_dir) == before
    assert_consistent(settings)


def test_a_build_killed_while_writing_leaves_the_previous_index_live(tmp_path: Path) -> None:
    settings = seeded(tmp_path)
    live = current_generation(settings.index_dir)
    assert live is not None
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    partial = settings.index_dir / f".g999999.tmp-{dead}"
    shutil.copytree(live, partial)
    (partial / "dense.faiss").write_bytes(b"half")
    assert load_index(settings).path == live  # readers never look at a temp folder
    (tmp_path / "new.yaml").write_text(entry_yaml(1), encoding="utf-8")
    assert add(settings, tmp_path / "new.yaml").returncode == 0
    assert not partial.exists()  # cleaned up by the next writer
    assert_consistent(settings)


@pytest.mark.parametrize(("content", "words"), [
    ("id: return-sequences\ntitle: 중복 항목\nquestion: 중복 질문입니다\nanswer: 이미 있는 id로 추가하려는 항목\n", "already exists"),
    ("id: broken\ntitle: [unclosed\n", "not valid YAML"),
    ("id: no-answer\ntitle: 답 없음\nquestion: 답이 없는 항목\n", "'answer' is missing"),
])
def test_refused_adds_write_nothing(tmp_path: Path, content: str, words: str) -> None:
    settings = seeded(tmp_path)
    before_files = sorted(p.name for p in settings.entries_dir.iterdir())
    before_gen = current_generation(settings.index_dir)
    bad = tmp_path / "bad.yaml"
    bad.write_text(content, encoding="utf-8")
    out = add(settings, bad)
    assert out.returncode != 0 and words in out.stderr
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    assert sorted(p.name for p in settings.entries_dir.iterdir()) == before_files
    assert current_generation(settings.index_dir) == before_gen
