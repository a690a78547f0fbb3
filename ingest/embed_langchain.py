"""Adapters between coursebot's :class:`~ingest.embed.Embedder` and LangChain's ``Embeddings``.

Only this module imports LangChain: the index and the searcher need nothing but the protocol.
"""

from __future__ import annotations

from langchain_core.embeddings import Embeddings

from ingest.embed import Embedder


class LangChainEmbeddings(Embeddings):
    """A coursebot embedder seen as a LangChain ``Embeddings`` (for a LangChain vector store or chain)."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embedder.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.embedder.embed_query(text)


class FromLangChain:
    """Any LangChain ``Embeddings`` as a coursebot :class:`~ingest.embed.Embedder`.

    ``name`` and ``model_id`` go into the index manifest (an index is reused only by the same model);
    ``dimension`` is measured once from a query vector.
    """

    def __init__(self, embeddings: Embeddings, *, name: str, model_id: str) -> None:
        self.embeddings = embeddings
        self.name = name
        self.model_id = model_id
        self.dimension = len(embeddings.embed_query("dimension"))

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embeddings.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.embeddings.embed_query(text)
