"""The second stage's view (USE vectors of each entry's texts and answer paragraphs): built, reused,
checked, served from a forked child, and optional."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

import ingest.sentence_view as view
from ingest.index import build, current_generation, load_index
from kb.calibration import FIRST_STAGE_ABSTAIN_FEATURES, FIRST_STAGE_PREFIX, SENTENCE_ABSTAIN_FEATURES
from kb.core.errors import IndexCorrupt
from kb.core.settings import PROJECT_ROOT, Settings
from kb.core.store import load_entry
from kb.rerank_features import SENTENCE_FEATURES
from kb.search import Searcher
from tests.ingest.test_index import SOME, copy_entries


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every text the real encoder is asked to embed."""
    texts: list[str] = []
    real = view.SentenceEncoder.encode

    def encode(self: view.SentenceEncoder, batch: list[str]) -> np.ndarray:
        texts.extend(batch)
        return real(self, batch)

    monkeypatch.setattr(view.SentenceEncoder, "encode", encode)
    return texts


def test_the_build_stores_each_entry_s_short_texts_and_answer_paragraphs(tmp_path: Path, counted: list[str]) -> None:
    settings = Settings(data_dir=tmp_path / "var", entries_dir=copy_entries(tmp_path, SOME))
    build(settings)
    index = load_index(settings)
    assert index.manifest["sentence_model"] == view.MODEL_ID and index.sentence is not None
    s = index.sentence
    for i, record in enumerate(index.records):
        entry = load_entry(settings.entries_dir / f"{record.entry_id}.yaml")
        short = int(((s.rows == i) & (s.kinds == view.SHORT)).sum())
        answer = int(((s.rows == i) & (s.kinds == view.ANSWER)).sum())
        assert short == 2 + len(entry.paraphrases)
        assert answer == len(view.paragraphs(entry.answer)) + len(view.paragraphs(entry.answer_en or "")) > 2
    norms = np.linalg.norm(np.asarray(s.vectors, dtype=np.float32), axis=1)
    assert np.allclose(norms, 1.0, atol=1e-2)
    assert len(counted) == len(s.rows)


def test_a_rebuild_embeds_only_the_changed_entry_and_keeps_the_others_rows(tmp_path: Path,
                                                                            counted: list[str]) -> None:
    entries = copy_entries(tmp_path, SOME)
    settings = Settings(data_dir=tmp_path / "var", entries_dir=entries)
    build(settings)
    before = load_index(settings)
    path = entries / "gru-vs-lstm.yaml"
    data = yaml.safe_load(path.read_text())
    data["paraphrases"] = [*data.get("paraphrases", []), "GRU가 LSTM보다 가벼운 이유"]
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    counted.clear()
    build(settings)
    after = load_index(settings)
    entry = load_entry(path)
    assert counted == [entry.title, entry.question, *entry.paraphrases,
                       *view.paragraphs(entry.answer), *view.paragraphs(entry.answer_en or "")]
    assert before.sentence is not None and after.sentence is not None
    old = before.sentence.blocks([r.hash for r in before.records])
    new = after.sentence.blocks([r.hash for r in after.records])
    for record in after.records:
        if record.entry_id != "gru-vs-lstm":
            assert np.array_equal(old[record.hash][0], new[record.hash][0])


def test_a_damaged_view_is_reported_as_a_corrupt_index(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var", entries_dir=copy_entries(tmp_path, SOME))
    build(settings)
    gen = current_generation(settings.index_dir)
    assert gen is not None
    rows = np.load(gen / "sentence" / "rows.npy")
    np.save(gen / "sentence" / "rows.npy", rows[:-1])
    with pytest.raises(IndexCorrupt, match="coursebot ingest --rebuild"):
        load_index(settings)


def test_without_the_view_the_search_uses_its_first_stage(built_index: Settings) -> None:
    """An index built before the view: a reranker fitted on its features is not used, nothing fails."""
    index = load_index(built_index)
    with_view = Searcher(index)
    assert with_view.reranker is not None and set(SENTENCE_FEATURES) <= set(with_view.reranker.features)
    assert with_view.calibration is not None and set(SENTENCE_ABSTAIN_FEATURES) <= set(with_view.calibration.features)
    index.sentence = None
    without = Searcher(index)
    assert without.reranker is None
    # the abstention model fitted on the first stage alone, not the full one fed zeros for the view
    assert without.calibration is not None and without.calibration.config == FIRST_STAGE_PREFIX + without.config
    assert set(without.calibration.features) == set(FIRST_STAGE_ABSTAIN_FEATURES)
    assert without.search("return_sequences=True는 언제 써요?", threshold=0.5).answered
    assert not without.search("오늘 점심 메뉴 추천해 주세요", threshold=0.5).answered
    result = without.search("return_sequences=True는 언제 써요?")
    assert result.hits[0].id == "return-sequences"
    rows = without.candidates("return_sequences=True는 언제 써요?")
    assert all(row[name] == 0.0 for _, row in rows for name in SENTENCE_FEATURES)


def test_the_second_stage_reads_what_the_question_is_about_not_the_whole_paste(built_index: Settings) -> None:
    from kb.focus import focus

    searcher = Searcher(load_index(built_index))
    pasted = ("x = Input(shape=(50, 8))\nh = LSTM(20)(x)\nprint(h.shape)  # (None, 20)\n"
              "I need one output per timestep but I only get (None, 20). How do I get all 50 steps out?")
    about = focus(pasted).dense_text
    assert "print" not in about and "timestep" in about
    from ingest.sentence_view import encode_query

    query = encode_query(about)
    assert query is not None and searcher.sentence is not None
    view_of = searcher.sentence.best(query, len(searcher.index.records))
    for i, row in searcher.candidates(pasted):
        assert row["sentence"] == pytest.approx(float(view_of[0][i]))
        assert row["sentence_answer"] == pytest.approx(float(view_of[1][i]))


SCRIPT = """
import json, os, signal
import numpy as np
from ingest.sentence_view import SENTENCE_HELPER, _encoder, encode_query, start_early
assert start_early() and SENTENCE_HELPER.pid
child = SENTENCE_HELPER.pid
texts = ["LSTM 파라미터 계산", "why does Bidirectional double the output?"]
from_child = [encode_query(t) for t in texts]
os.kill(child, signal.SIGKILL)
after = [encode_query(t) for t in texts]    # the child is gone: loaded here instead
local = [_encoder(1).encode([t])[0] for t in texts]
print(json.dumps({"child": [float(a @ b) for a, b in zip(from_child, local)],
                  "after": [float(a @ b) for a, b in zip(after, local)],
                  "gone": SENTENCE_HELPER.pid == 0}))
"""


def test_the_forked_encoder_gives_the_same_vectors_and_a_dead_one_falls_back() -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, cwd=PROJECT_ROOT,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout)
    assert all(c == pytest.approx(1.0, abs=1e-5) for c in got["child"] + got["after"]) and got["gone"]
