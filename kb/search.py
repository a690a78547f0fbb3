"""Hybrid search over the index: dense (FAISS cosine) + lexical (BM25), fused, with a confidence.

Ranking fuses the two rankings (reciprocal-rank fusion by default; ``coursebot eval --fusion``
measures the alternatives). Ranks carry no relevance signal, so the confidence that decides
abstention is computed from raw scores of the top hit instead: its best cosine similarity and
the idf-weighted share of the question's tokens it contains (a question full of words the
knowledge base has never seen -- PyTorch, 출석, 환율 -- gets a low share). A logistic model over
these two numbers, fitted on the dev set (``tests/data/dev_questions.jsonl``), turns them into
a probability-like confidence in [0, 1].
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ingest.index import Index
from ingest.tokens import tokenize

RRF_K = 60
DENSE_CANDIDATES = 320   # FAISS rows read per question before taking each record's best row
FUSIONS = ("rrf", "weighted", "dense", "lexical")
# Logistic calibration per (embedder, tokenizer, fusion): confidence =
# sigmoid(a*cosine + b*coverage + c*log(1+bm25) + d). Fitted on the dev set by
# ``coursebot eval tests/data/dev_questions.jsonl --compare --refit``; see README "Retrieval quality".
CALIBRATION: dict[str, tuple[float, float, float, float]] = {
    "e5/kiwi/dense": (42.472, 0.0, 0.0, -37.297),
    "minilm/kiwi/dense": (7.582, 0.0, 0.0, -5.104),
    "none/kiwi/lexical": (0.0, 6.215, 14.354, -20.448),
    "none/bigram/lexical": (0.0, 7.935, 6.353, -11.817),
    "e5/kiwi/rrf": (3.067, 7.457, 10.579, -17.629),
    "e5/kiwi/weighted": (3.926, 6.994, 10.42, -18.824),
    "e5/bigram/rrf": (9.708, 8.359, 4.754, -17.634),
    "e5/bigram/weighted": (8.35, 7.135, 5.184, -16.949),
    "minilm/kiwi/rrf": (0.374, 7.307, 7.872, -11.771),
    "minilm/bigram/rrf": (-4.719, 9.126, 10.941, -12.825),
}
FALLBACK_CALIBRATION = (0.0, 6.215, 14.354, -20.448)  # BM25 alone: needs no embedder


def calibration_for(embedder: str, tokenizer: str, fusion: str) -> tuple[float, float, float, float]:
    if embedder == "none":
        fusion = "lexical"
    return CALIBRATION.get(f"{embedder}/{tokenizer}/{fusion}", FALLBACK_CALIBRATION)


@dataclass
class Hit:
    id: str                      # entry id, or "doc:<file>#<n>" for a raw-document chunk
    kind: str                    # "entry" | "doc"
    title: str
    score: float                 # fused ranking score (only meaningful for ordering)
    sources: list[str]
    chunk: str                   # the matched text (the entry's question, or the document chunk)
    cosine: float = 0.0
    bm25: float = 0.0
    coverage: float = 0.0
    confidence: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "title": self.title, "score": round(self.score, 4),
                "confidence": round(self.confidence, 3), "sources": self.sources}


@dataclass
class SearchResult:
    question: str
    hits: list[Hit]
    confidence: float
    answered: bool
    threshold: float
    features: dict[str, float] = field(default_factory=dict)


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, x))))


class Searcher:
    """Holds an :class:`Index` and its query embedder; ``search`` is cheap and thread-safe."""

    def __init__(self, index: Index, embedder: Any = None, *, fusion: str = "rrf",
                 calibration: tuple[float, float, float, float] | None = None) -> None:
        self.index = index
        if embedder is None and index.embedder_name != "none":
            from ingest.embed import get_embedder

            embedder = get_embedder(index.embedder_name)
        if fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {FUSIONS}, not {fusion!r}")
        self.embedder = embedder
        self.fusion = fusion
        self.calibration = calibration or calibration_for(index.embedder_name, index.tokenizer, fusion)
        self._token_sets: dict[int, set[str]] = {}

    # -- the two retrievers ---------------------------------------------------------------------
    def dense_scores(self, question: str) -> np.ndarray:
        n = len(self.index.records)
        scores = np.full(n, -1.0, dtype=np.float32)
        if self.embedder is None or self.index.dense is None or self.index.dense.ntotal == 0:
            return scores
        q = np.asarray(self.embedder.embed_query(question), dtype=np.float32)[None, :]
        k = min(self.index.dense.ntotal, DENSE_CANDIDATES)
        sims, rows = self.index.dense.search(q, k)
        for sim, row in zip(sims[0], rows[0], strict=True):
            if row < 0:
                continue
            owner = int(self.index.rows[row])
            if sim > scores[owner]:
                scores[owner] = sim
        return scores

    def lexical_scores(self, tokens: list[str]) -> np.ndarray:
        if not tokens:
            return np.zeros(len(self.index.records), dtype=np.float32)
        return np.asarray(self.index.bm25.get_scores(tokens), dtype=np.float32)

    def coverage(self, tokens: list[str], record: int) -> float:
        """idf-weighted share of the question's distinct tokens found in the record."""
        if not tokens:
            return 0.0
        have = self._token_sets.get(record)
        if have is None:
            have = set(tokenize(self.index.records[record].text, self.index.tokenizer))
            self._token_sets[record] = have
        distinct = set(tokens)
        total = sum(self.index.idf(t) for t in distinct)
        found = sum(self.index.idf(t) for t in distinct if t in have)
        return found / total if total else 0.0

    # -- fusion ---------------------------------------------------------------------------------
    def fuse(self, dense: np.ndarray, lexical: np.ndarray) -> np.ndarray:
        has_dense = bool((dense > -1).any())
        if self.fusion == "lexical" or not has_dense:
            return lexical.astype(np.float64)
        if self.fusion == "dense":
            return dense.astype(np.float64)
        if self.fusion == "weighted":
            lex = lexical / lexical.max() if lexical.max() > 0 else lexical
            d = np.clip(dense, 0, 1)
            spread = d.max() - np.median(d) if len(d) > 1 else 1.0
            d = (d - np.median(d)) / spread if spread > 0 else d
            mixed: np.ndarray = 0.5 * d + 0.5 * lex
            return mixed
        fused = np.zeros(len(dense), dtype=np.float64)
        for scores in (dense, lexical):
            order = np.argsort(-scores, kind="stable")
            ranks = np.empty(len(order), dtype=np.int64)
            ranks[order] = np.arange(1, len(order) + 1)
            usable = scores > (0 if scores is lexical else -1)
            fused += np.where(usable, 1.0 / (RRF_K + ranks), 0.0)
        return fused

    def confidence(self, cosine: float, coverage: float, bm25: float) -> float:
        a, b, c, d = self.calibration
        return _sigmoid(a * cosine + b * coverage + c * math.log1p(max(bm25, 0.0)) + d)

    def search(self, question: str, k: int = 3, threshold: float = 0.5) -> SearchResult:
        question = question.strip()
        tokens = tokenize(question, self.index.tokenizer)
        if not question or not self.index.records:
            return SearchResult(question, [], 0.0, False, threshold)
        dense = self.dense_scores(question)
        lexical = self.lexical_scores(tokens)
        fused = self.fuse(dense, lexical)
        order = np.argsort(-fused, kind="stable")[:max(k, 1)]
        hits = []
        for i in order:
            rec = self.index.records[int(i)]
            cos = float(max(dense[i], 0.0))
            cov = self.coverage(tokens, int(i))
            hits.append(Hit(
                id=rec.entry_id if rec.kind == "entry" and rec.entry_id else rec.key,
                kind=rec.kind, title=rec.title, score=float(fused[i]), sources=list(rec.sources),
                chunk=rec.dense_texts[1] if rec.kind == "entry" and len(rec.dense_texts) > 1 else rec.text,
                cosine=cos, bm25=float(lexical[i]), coverage=cov,
                confidence=self.confidence(cos, cov, float(lexical[i])),
            ))
        top = hits[0]
        conf = top.confidence
        return SearchResult(question, hits, conf, conf >= threshold, threshold,
                            {"cosine": top.cosine, "coverage": top.coverage, "bm25": top.bm25})


def search(index: Index, question: str, k: int = 3, threshold: float = 0.5) -> SearchResult:
    """One-off search (builds a :class:`Searcher`; keep one around for repeated questions)."""
    return Searcher(index).search(question, k, threshold)
