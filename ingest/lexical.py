"""BM25 scores of a generation's lexical index, read with numpy alone.

``coursebot ingest`` builds the index with bm25s (``ingest/build.py``), which stores every
(document, token) score precomputed in a sparse column matrix. Scoring a question is then a sum of
the columns of its tokens, so answering one needs neither bm25s nor SciPy (about 0.13 s of a cold
``coursebot ask``). ``tests/ingest/test_lexical.py`` checks the scores equal bm25s's own.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

# bm25s methods whose scores are fully precomputed (BM25L and BM25+ add a non-occurrence term)
PRECOMPUTED = ("lucene", "robertson", "atire")


class LexicalScores:
    def __init__(self, folder: Path) -> None:
        params = json.loads((folder / "params.index.json").read_text(encoding="utf-8"))
        if params.get("method") not in PRECOMPUTED:
            raise ValueError(f"BM25 method {params.get('method')!r} is not one this reader scores")
        self.num_docs = int(params["num_docs"])
        self.dtype = np.dtype(params.get("dtype", "float32"))
        self.vocab: dict[str, int] = json.loads((folder / "vocab.index.json").read_text(encoding="utf-8"))
        self.data = np.load(folder / "data.csc.index.npy")
        self.indices = np.load(folder / "indices.csc.index.npy")
        self.indptr = np.load(folder / "indptr.csc.index.npy")
        self.columns = len(self.indptr) - 1   # bm25s's vocabulary also holds "", which has no column
        if self.columns < 0 or len(self.data) != len(self.indices) or int(self.indptr[-1]) != len(self.data):
            raise ValueError("the BM25 arrays do not fit together")

    def get_scores(self, tokens: list[str]) -> np.ndarray:
        """One score per document: the sum of the precomputed scores of ``tokens`` (repeats count)."""
        scores = np.zeros(self.num_docs, dtype=self.dtype)
        for token in tokens:
            column = self.vocab.get(token)
            if column is not None and column < self.columns:
                start, end = self.indptr[column], self.indptr[column + 1]
                np.add.at(scores, self.indices[start:end], self.data[start:end])
        return scores
