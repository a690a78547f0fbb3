"""The Embedder protocol, its LangChain adapters, and bulk embedding with duplicates."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
from langchain_core.embeddings import Embeddings

from ingest.embed import E5Embeddings, Embedder, embed_many, get_embedder
from ingest.embed_langchain import FromLangChain, LangChainEmbeddings

TEXTS = ["LSTM 파라미터 수", "Dense(64)의 출력 shape", "LSTM 파라미터 수", "return_sequences=True"]


def test_builtin_embedder_satisfies_the_protocol_without_langchain() -> None:
    e5 = get_embedder("e5")
    assert isinstance(e5, E5Embeddings) and isinstance(e5, Embedder)
    code = "import ingest.embed, sys; print('langchain_core' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_duplicates_are_embedded_once_and_get_the_same_vector() -> None:
    e5 = get_embedder("e5")
    assert e5 is not None
    rows = np.array(e5.embed_documents(TEXTS))
    alone = np.array(e5.embed_documents([TEXTS[1]]))[0]
    assert rows.shape == (4, 384)
    np.testing.assert_allclose(rows[0], rows[2])
    np.testing.assert_allclose(rows[1], alone, atol=1e-5)
    assert abs(float(rows[0] @ rows[1])) < 0.999


class Counting:
    name, model_id, dimension = "e5", "counting", 384

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.calls: list[list[str]] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls.append(texts)
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


def test_embed_many_batches_distinct_texts_and_keeps_the_order() -> None:
    e5 = get_embedder("e5")
    assert e5 is not None
    counting = Counting(e5)
    seen: list[tuple[int, int]] = []
    matrix = embed_many(counting, TEXTS * 2, batch_size=2, progress=lambda d, t: seen.append((d, t)))
    assert [len(c) for c in counting.calls] == [2, 1] and seen == [(2, 3), (3, 3)]
    np.testing.assert_allclose(matrix, np.array(e5.embed_documents(TEXTS * 2)), atol=1e-5)
    assert embed_many(counting, []).shape == (0, 384)


def test_langchain_adapters_in_both_directions() -> None:
    e5 = get_embedder("e5")
    assert e5 is not None
    as_lc = LangChainEmbeddings(e5)
    assert isinstance(as_lc, Embeddings)
    back = FromLangChain(as_lc, name="e5-via-langchain", model_id=e5.model_id)
    assert isinstance(back, Embedder) and back.dimension == 384
    np.testing.assert_allclose(back.embed_query("LSTM"), e5.embed_query("LSTM"))
    np.testing.assert_allclose(back.embed_documents(TEXTS[:2]), e5.embed_documents(TEXTS[:2]))
