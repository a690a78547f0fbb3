"""The numpy BM25 reader gives exactly bm25s's scores on a real generation."""

from __future__ import annotations

import json
import random

import numpy as np

from ingest.index import load_index
from kb.core.settings import Settings


def test_scores_equal_bm25s_on_the_real_index(built_index: Settings) -> None:
    import bm25s

    index = load_index(built_index)
    folder = index.path / "lexical"
    reference = bm25s.BM25.load(str(folder), show_progress=False)
    vocab = [t for t in json.loads((folder / "vocab.index.json").read_text(encoding="utf-8")) if t]  # not bm25s's ""
    rng = random.Random(7)
    queries = [rng.sample(vocab, rng.randint(1, 12)) for _ in range(300)]
    queries += [[vocab[0], vocab[0], vocab[1]], ["no-such-token", vocab[2]], ["파라미터", "lstm", "dense"]]
    for tokens in queries:
        mine = index.bm25.get_scores(tokens)
        assert mine.dtype == np.float32
        assert np.array_equal(mine, reference.get_scores(tokens)), tokens
    assert not index.bm25.get_scores(["no-such-token"]).any()
