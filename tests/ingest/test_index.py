"""The index: real FAISS, real bm25s, real e5; incremental, generational, robust to damage."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import faiss
import numpy as np
import pytest
import yaml

from ingest.embed import E5Embeddings, MiniLMEmbeddings, get_embedder
from ingest.index import build, current_generation, load_index, open_index, upsert_entry
from ingest.redact import find_pii
from ingest.tokens import tokenize
from kb.core.errors import IndexCorrupt, IndexMissing
from kb.core.settings import Settings
from kb.core.store import load_entry
from kb.search import Searcher
from tests.conftest import ENTRIES_DIR


class CountingEmbeddings:
    """The real e5 embedder, counting how many texts it is asked to embed."""

    def __init__(self) -> None:
        self.inner = get_embedder("e5")
        self.name = "e5"
        self.model_id = self.inner.model_id
        self.dimension = 384
        self.texts: list[str] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.texts.extend(texts)
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


def copy_entries(tmp_path: Path, names: list[str] | None = None) -> Path:
    target = tmp_path / "entries"
    target.mkdir()
    for p in sorted(ENTRIES_DIR.glob("*.yaml")):
        if names is None or p.stem in names:
            shutil.copy(p, target / p.name)
    return target


SOME = ["return-sequences", "conv1d-4d-char-embedding", "embedding-params", "gru-vs-lstm"]


def test_e5_vectors_are_normalised_and_multilingual() -> None:
    e5 = get_embedder("e5")
    assert isinstance(e5, E5Embeddings)
    q = np.array(e5.embed_query("LSTM 파라미터 수"))
    docs = np.array(e5.embed_documents(["LSTM의 파라미터 개수 계산", "김치찌개 끓이는 법"]))
    assert q.shape == (384,) and abs(np.linalg.norm(q) - 1) < 1e-4
    assert docs @ q @ np.array([1, -1]) > 0.05  # the related passage is closer


def test_minilm_loads_offline_from_the_packaged_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = MiniLMEmbeddings()
    vecs = np.array(model.embed_documents(["return_sequences returns the whole sequence",
                                           "the weather is sunny today"]))
    q = np.array(model.embed_query("what does return_sequences do"))
    assert vecs.shape == (2, 384)
    assert vecs[0] @ q > vecs[1] @ q


def test_tokens_keep_keras_identifiers_matchable() -> None:
    toks = tokenize("layer conv1d_2: expected ndim=3, found ndim=4 in TimeDistributed", "bigram")
    for t in ("conv1d", "ndim=4", "timedistributed", "distributed", "time"):
        assert t in toks
    assert "return" in tokenize("return_sequences", "kiwi")
    assert "파라미터" in tokenize("LSTM의 파라미터 수", "kiwi")


@pytest.mark.parametrize("mode", ["kiwi", "bigram"])
def test_tools_written_in_hangul_also_give_their_latin_token(mode: str) -> None:
    assert {"pytorch", "lstm"} <= set(tokenize("파이토치 LSTM 예제", mode))
    assert "batchnormalization" in tokenize("배치 정규화는 Conv1D 뒤에 넣나요?", mode)
    assert not {"pytorch", "bert", "adam"} & set(tokenize("버튼을 누르면 LSTM 파라미터 수가 나와요", mode))


def test_after_in_a_sentence_is_not_the_next_time_step() -> None:
    """'GRU 다음에 Dense' orders two layers; '다음 시점' is the next time step (an entry's subject)."""
    assert "다음" not in tokenize("GRU(32) 다음에 Dense(10) 붙이면 파라미터 몇 개예요?", "kiwi")
    assert "다음" not in tokenize("다음과 같이 쌓았어요", "kiwi")
    assert "다음" in tokenize("다음 시점의 LSTM에는 무엇이 들어가나요?", "kiwi")
    assert "다음" in tokenize("다음 time step에는 Dense 출력이 들어가나요?", "kiwi")


def test_build_writes_a_readable_folder(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var", entries_dir=copy_entries(tmp_path, SOME))
    stats = build(settings)
    gen = current_generation(settings.index_dir)
    assert gen is not None and stats.path == gen
    manifest = json.loads((gen / "manifest.json").read_text())
    assert manifest["embedder"] == "e5" and manifest["dimension"] == 384 and manifest["tokenizer"] == "kiwi"
    assert set(manifest["records"]) == {f"entry:{n}" for n in SOME}
    assert faiss.read_index(str(gen / "dense.faiss")).ntotal == len(np.load(gen / "rows.npy"))
    lines = (gen / "records.jsonl").read_text().splitlines()
    assert {json.loads(line)["entry_id"] for line in lines} == set(SOME)


def test_incremental_ingest_reembeds_only_the_changed_entry(tmp_path: Path) -> None:
    entries = copy_entries(tmp_path, SOME)
    settings = Settings(data_dir=tmp_path / "var", entries_dir=entries)
    first = CountingEmbeddings()
    build(settings, embedder=first)
    assert first.texts  # everything was embedded once
    path = entries / "gru-vs-lstm.yaml"
    data = yaml.safe_load(path.read_text())
    data["paraphrases"] = [*data.get("paraphrases", []), "GRU랑 LSTM 중에 뭐가 더 빨라요?"]
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    second = CountingEmbeddings()
    stats = build(settings, embedder=second)
    entry = load_entry(path)
    assert second.texts == [entry.title, entry.question, *entry.paraphrases]
    assert stats.embedded == 1 and stats.reused == len(SOME) - 1
    third = CountingEmbeddings()
    assert build(settings, embedder=third).embedded == 0 and third.texts == []
    result = Searcher(load_index(settings)).search("GRU랑 LSTM 중에 뭐가 더 빨라요?")
    assert result.hits[0].id == "gru-vs-lstm"


def test_a_changed_embedder_setting_rebuilds_everything(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var", entries_dir=copy_entries(tmp_path, SOME))
    build(settings)
    lexical = Settings(data_dir=settings.data_dir, entries_dir=settings.entries_dir, embedder="none")
    index = open_index(lexical)
    assert index.manifest["embedder"] == "none" and index.dense is None
    assert Searcher(index).search("return_sequences True False 차이").hits[0].id == "return-sequences"
    again = open_index(settings)
    assert again.manifest["embedder"] == "e5" and again.dense.ntotal > 0


def test_an_index_tokenized_by_an_older_version_is_rebuilt_on_open(tmp_path: Path) -> None:
    """Query tokens of this version against stored tokens of an older one would miss words silently."""
    from ingest.tokens import VERSION

    settings = Settings(data_dir=tmp_path / "var", entries_dir=copy_entries(tmp_path, SOME))
    build(settings)
    old = current_generation(settings.index_dir)
    assert old is not None
    manifest_path = old / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["tokenizer_version"] = VERSION - 1
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    index = open_index(settings)
    assert index.manifest["tokenizer_version"] == VERSION and current_generation(settings.index_dir) != old


def test_missing_index_says_what_to_run_and_open_builds_it(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var", entries_dir=copy_entries(tmp_path, SOME))
    with pytest.raises(IndexMissing, match="coursebot ingest"):
        load_index(settings)
    notes: list[str] = []
    index = open_index(settings, notify=notes.append)
    assert len(index.records) == len(SOME) and "building" in notes[0]


@pytest.mark.parametrize("damage", ["truncate-faiss", "garbage-records", "delete-manifest", "bad-pointer"])
def test_corrupt_index_is_reported_in_one_sentence_and_rebuilt(tmp_path: Path, damage: str) -> None:
    settings = Settings(data_dir=tmp_path / "var", entries_dir=copy_entries(tmp_path, SOME))
    build(settings)
    gen = current_generation(settings.index_dir)
    assert gen is not None
    if damage == "truncate-faiss":
        (gen / "dense.faiss").write_bytes((gen / "dense.faiss").read_bytes()[:100])
    elif damage == "garbage-records":
        (gen / "records.jsonl").write_text("{not json\n")
    elif damage == "delete-manifest":
        (gen / "manifest.json").unlink()
    else:
        (settings.index_dir / "CURRENT").write_text("g999999\n")
    with pytest.raises(IndexCorrupt) as info:
        load_index(settings)
    message = str(info.value)
    assert "coursebot ingest --rebuild" in message and message.count("\n") == 0
    notes: list[str] = []
    index = open_index(settings, notify=notes.append)
    assert len(index.records) == len(SOME) and "Rebuilding" in notes[0]


def test_editing_an_entry_file_refreshes_the_index_on_open(tmp_path: Path) -> None:
    entries = copy_entries(tmp_path, SOME)
    settings = Settings(data_dir=tmp_path / "var", entries_dir=entries)
    build(settings)
    shutil.copy(ENTRIES_DIR / "dilated-conv1d.yaml", entries / "dilated-conv1d.yaml")
    index = open_index(settings)
    assert "entry:dilated-conv1d" in index.by_key


def test_upsert_adds_one_entry_in_place(tmp_path: Path) -> None:
    entries = copy_entries(tmp_path, SOME)
    settings = Settings(data_dir=tmp_path / "var", entries_dir=entries)
    build(settings)
    shutil.copy(ENTRIES_DIR / "dilated-conv1d.yaml", entries / "dilated-conv1d.yaml")
    stats = upsert_entry(settings, load_entry(entries / "dilated-conv1d.yaml"))
    assert stats.embedded == 1 and stats.reused == len(SOME)
    hit = Searcher(load_index(settings)).search("dilation_rate 주면 뭐가 달라져요?").hits[0]
    assert hit.id == "dilated-conv1d"


FAKE_DOC = """보낸 사람: 홍길동 <gildong.hong@example.com>
받는 사람: 수강생 여러분
연락처: 010-1234-5678

안녕하세요. 이번 주 질문 정리입니다. Conv1D는 3차원 입력 (배치, 길이, 채널)을 받습니다.
글자 임베딩처럼 4차원이면 TimeDistributed로 감싸야 합니다. 문의는 help.desk@example.org 또는
02-123-4567 로 주세요. 휴대폰 +82 10 9876 5432 로도 됩니다.

""" + "\n".join(f"{n}. LSTM의 return_sequences=True는 모든 시점의 출력을 돌려줍니다. 연락: user{n}@mail.example.com"
                for n in range(1, 30))


def test_raw_document_ingest_never_stores_an_email_or_phone(tmp_path: Path) -> None:
    doc = tmp_path / "notes_week3.txt"
    doc.write_text(FAKE_DOC, encoding="utf-8")
    settings = Settings(data_dir=tmp_path / "var", entries_dir=copy_entries(tmp_path, SOME))
    stats = build(settings, docs=[doc])
    assert stats.doc_chunks >= 2
    gen = current_generation(settings.index_dir)
    assert gen is not None
    for path in gen.rglob("*"):
        if path.is_file() and path.suffix in (".json", ".jsonl"):
            text = path.read_text(encoding="utf-8")
            assert find_pii(text) == [], path.name
            assert "홍길동" not in text and "example" not in text
    result = Searcher(load_index(settings)).search("4차원 글자 임베딩에 Conv1D", k=5)
    assert any(h.kind == "doc" and h.sources == ["notes_week3.txt"] for h in result.hits)
    # A later entry-only ingest keeps the document; giving it again replaces its chunks.
    assert build(settings).doc_chunks == stats.doc_chunks
    doc.write_text("Dense는 마지막 축에만 작용합니다. " * 5, encoding="utf-8")
    assert build(settings, docs=[doc]).doc_chunks == 1


def test_an_entry_written_but_not_indexed_is_picked_up_after_another_add(tmp_path: Path) -> None:
    """An add that died between writing its file and indexing it must not be hidden by the next add."""
    entries = copy_entries(tmp_path, SOME)
    settings = Settings(data_dir=tmp_path / "var", entries_dir=entries)
    build(settings)
    shutil.copy(ENTRIES_DIR / "dilated-conv1d.yaml", entries)   # written, never indexed
    shutil.copy(ENTRIES_DIR / "pooling-1d.yaml", entries)
    upsert_entry(settings, load_entry(entries / "pooling-1d.yaml"))
    assert "entry:dilated-conv1d" not in load_index(settings).by_key
    assert "entry:dilated-conv1d" in open_index(settings).by_key
