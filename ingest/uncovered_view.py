"""The uncovered topics' example questions, embedded at build time (see :mod:`kb.core.uncovered`).

Files of a generation::

    uncovered/topics.json    the topics (id, title, title_en) in the order rows.npy counts them
    uncovered/rows.npy       which topic each example belongs to
    uncovered/dense.npy      float16 e5 vectors of the examples (absent with no embedder)
    uncovered/sentence.npy   float16 USE vectors of the examples (absent without the encoder)

The examples are embedded like an entry's short texts (e5 as passages, USE as they are), so a
question's best cosine to them is comparable with its best cosine to the entries. The folder is
copied from the previous generation when the file's stamp and both models are the same.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kb.core.uncovered import UncoveredTopic

FOLDER = "uncovered"


@dataclass(frozen=True)
class TopicTitle:
    id: str
    title: str
    title_en: str


@dataclass(frozen=True)
class Nearest:
    """How near a question is to the uncovered topics."""

    dense: float | None       # best e5 cosine to an example (None without e5 vectors)
    sentence: float | None    # best USE cosine to an example (None without USE vectors)
    topic: TopicTitle | None  # the topic of the nearest example by USE (None without USE vectors)


@dataclass(frozen=True)
class UncoveredView:
    topics: list[TopicTitle]
    rows: np.ndarray                 # topic of each example
    dense: np.ndarray | None         # (examples, e5 dim) float16
    sentence: np.ndarray | None      # (examples, 512) float16

    def check(self) -> None:
        """Raise ValueError when the files do not fit each other."""
        n = len(self.rows)
        if any(m is not None and len(m) != n for m in (self.dense, self.sentence)):
            raise ValueError("the uncovered topics' files do not match each other")
        if n and (int(self.rows.max()) >= len(self.topics) or int(self.rows.min()) < 0):
            raise ValueError("uncovered/rows.npy points past the last topic")

    def nearest(self, dense_query: np.ndarray | None, sentence_query: np.ndarray | None) -> Nearest | None:
        """The best cosines to the examples; ``None`` when there is nothing to compare."""
        if not len(self.rows):
            return None
        best_dense = best_sentence = None
        topic = None
        if self.dense is not None and dense_query is not None and self.dense.shape[1] == len(dense_query):
            best_dense = float((self.dense.astype(np.float32) @ dense_query.astype(np.float32)).max())
        if self.sentence is not None and sentence_query is not None:
            sims = self.sentence.astype(np.float32) @ sentence_query.astype(np.float32)
            best_sentence, topic = float(sims.max()), self.topics[int(self.rows[int(np.argmax(sims))])]
        if best_dense is None and best_sentence is None:
            return None
        return Nearest(best_dense, best_sentence, topic)


def load_uncovered_view(gen: Path) -> UncoveredView | None:
    path = gen / FOLDER
    if not (path / "topics.json").exists():
        return None
    topics = [TopicTitle(**t) for t in json.loads((path / "topics.json").read_text(encoding="utf-8"))]
    optional = {name: np.load(path / f"{name}.npy", mmap_mode="r") if (path / f"{name}.npy").exists() else None
                for name in ("dense", "sentence")}
    view = UncoveredView(topics, np.load(path / "rows.npy"), optional["dense"], optional["sentence"])
    view.check()
    return view


def write_uncovered(folder: Path, topics: list[UncoveredTopic], model: Any, *,
                    old: UncoveredView | None) -> None:
    """Write ``uncovered/`` into the new generation ``folder``. ``old`` is the previous generation's
    view when the file and both models are unchanged: its rows are kept for the topics still listed
    (an entry that takes a topic's id only removes rows), and nothing is embedded again."""
    path = folder / FOLDER
    path.mkdir()
    (path / "topics.json").write_text(json.dumps(
        [{"id": t.id, "title": t.title, "title_en": t.title_en} for t in topics], ensure_ascii=False), encoding="utf-8")
    rows = np.asarray([n for n, topic in enumerate(topics) for _ in topic.examples], dtype=np.int32)
    np.save(path / "rows.npy", rows)
    kept = _kept_rows(topics, old)
    if kept is not None and old is not None:
        for name, matrix in (("dense", old.dense), ("sentence", old.sentence)):
            if matrix is not None:
                np.save(path / f"{name}.npy", np.asarray(matrix[kept]))
        return
    texts = [text for topic in topics for text in topic.examples]
    if not texts:
        return
    from ingest.sentence_view import sentence_encoder

    if model is not None:
        np.save(path / "dense.npy", _embedded(("dense", getattr(model, "model_id", type(model).__name__), *texts),
                                              lambda: _dense(model, texts)))
    encoder = sentence_encoder()
    if encoder is not None:
        np.save(path / "sentence.npy", _embedded(("sentence", *texts), lambda: _sentence(encoder, texts)))


def _kept_rows(topics: list[UncoveredTopic], old: UncoveredView | None) -> np.ndarray | None:
    """The old view's rows of ``topics``, in order, if it holds every one of them (else None)."""
    if old is None:
        return None
    where = {t.id: n for n, t in enumerate(old.topics)}
    if any(t.id not in where for t in topics):
        return None
    picked = [np.flatnonzero(old.rows == where[t.id]) for t in topics]
    if any(len(p) != len(t.examples) for p, t in zip(picked, topics, strict=True)):
        return None
    return np.concatenate(picked) if picked else np.zeros(0, dtype=np.int64)


# The same examples embedded by the same model give the same rows: a process that builds several
# indexes (a fresh data folder each, as the tests do) embeds them once.
_MEMO: dict[tuple[str, ...], np.ndarray] = {}


def _embedded(key: tuple[str, ...], make: Any) -> np.ndarray:
    if key not in _MEMO:
        if len(_MEMO) >= 4:   # a bank or two at a time is enough
            _MEMO.clear()
        _MEMO[key] = make()
    return _MEMO[key]


def _dense(model: Any, texts: list[str]) -> np.ndarray:
    from ingest.embed import embed_many

    return np.asarray(embed_many(model, texts), dtype=np.float16)


def _sentence(encoder: Any, texts: list[str]) -> np.ndarray:
    vectors = np.concatenate([encoder.encode(texts[s:s + 64]) for s in range(0, len(texts), 64)])
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return np.asarray(vectors, dtype=np.float16)
