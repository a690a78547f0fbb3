"""Retrieval quality on a question set: hit@1, hit@3, MRR, abstention (``coursebot eval``).

Question lines (JSONL): ``{"q": ..., "expect_ids": [...]?, "expect_sources": [...]?,
"out_of_scope": true?}``. A hit counts when its entry id is in ``expect_ids`` or one of its
sources starts with one of ``expect_sources``.

``compare`` builds a throw-away index per configuration (each embedder alone, BM25 alone with
each tokenizer, and the fusions) so that the choice of the default is measured, not assumed;
``fit_calibration`` fits the logistic confidence of :mod:`kb.search` on a question set's features.
"""

from __future__ import annotations

import json
import math
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from kb.core.errors import UsageError
from kb.core.settings import Settings
from kb.search import Searcher, SearchResult


@dataclass(frozen=True)
class Question:
    q: str
    expect_ids: tuple[str, ...] = ()
    expect_sources: tuple[str, ...] = ()
    out_of_scope: bool = False

    def matches(self, hit_id: str, sources: list[str]) -> bool:
        if hit_id in self.expect_ids:
            return True
        return any(s.startswith(p) for s in sources for p in self.expect_sources)


def load_questions(path: Path) -> list[Question]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"Cannot read {path}: {exc}.") from None
    out = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if not isinstance(data, dict) or not isinstance(data.get("q"), str) or not data["q"].strip():
                raise ValueError("needs a non-empty \"q\" string")
            question = Question(q=data["q"], expect_ids=tuple(data.get("expect_ids") or ()),
                                expect_sources=tuple(data.get("expect_sources") or ()),
                                out_of_scope=bool(data.get("out_of_scope", False)))
        except (ValueError, TypeError) as exc:
            raise UsageError(f"{path.name} line {n} is not a valid question line ({exc}).") from None
        if not question.out_of_scope and not question.expect_ids and not question.expect_sources:
            raise UsageError(f"{path.name} line {n} has neither expect_ids, expect_sources nor out_of_scope.")
        out.append(question)
    if not out:
        raise UsageError(f"{path.name} has no questions.")
    return out


def evaluate(searcher: Searcher, questions: list[Question], *, threshold: float, k: int = 3) -> dict[str, Any]:
    results = []
    ranks: list[int | None] = []
    answered_in = answered_out = 0
    n_in = n_out = 0
    took = []
    for question in questions:
        t0 = time.perf_counter()
        res = searcher.search(question.q, k=max(k, 10), threshold=threshold)
        took.append((time.perf_counter() - t0) * 1000)
        rank = None
        if not question.out_of_scope:
            n_in += 1
            answered_in += res.answered
            rank = next((i + 1 for i, h in enumerate(res.hits) if question.matches(h.id, h.sources)), None)
            ranks.append(rank)
        else:
            n_out += 1
            answered_out += res.answered
        results.append({"q": question.q, "answered": res.answered, "confidence": round(res.confidence, 4),
                        "out_of_scope": question.out_of_scope, "rank": rank,
                        "hits": [{"id": h.id, "sources": h.sources, "score": round(h.score, 4)}
                                 for h in res.hits[:k]]})
    metrics = {
        "questions": len(questions), "in_scope": n_in, "out_of_scope": n_out,
        "hit@1": _ratio(sum(r == 1 for r in ranks), n_in),
        "hit@3": _ratio(sum(r is not None and r <= 3 for r in ranks), n_in),
        "mrr": round(sum(1 / r for r in ranks if r) / n_in, 4) if n_in else None,
        "abstention": _ratio(n_out - answered_out, n_out),
        "false_abstention": _ratio(n_in - answered_in, n_in),
        "search_ms_p50": round(float(np.percentile(took, 50)), 2),
    }
    return {"metrics": metrics, "results": results}


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


# -- comparing configurations -------------------------------------------------------------------
CONFIGS: list[tuple[str, str, str, str]] = [
    # (label, embedder, tokenizer, fusion)
    ("e5 alone", "e5", "kiwi", "dense"),
    ("minilm alone", "minilm", "kiwi", "dense"),
    ("BM25 Kiwi alone", "none", "kiwi", "lexical"),
    ("BM25 bigrams alone", "none", "bigram", "lexical"),
    ("e5 + BM25 Kiwi, RRF (default)", "e5", "kiwi", "rrf"),
    ("e5 + BM25 Kiwi, weighted", "e5", "kiwi", "weighted"),
    ("e5 + BM25 bigrams, RRF", "e5", "bigram", "rrf"),
    ("e5 + BM25 bigrams, weighted", "e5", "bigram", "weighted"),
    ("minilm + BM25 Kiwi, RRF", "minilm", "kiwi", "rrf"),
    ("minilm + BM25 bigrams, RRF", "minilm", "bigram", "rrf"),
]


def compare(settings: Settings, questions: list[Question], *, refit: bool = False,
            configs: list[tuple[str, str, str, str]] | None = None) -> list[dict[str, Any]]:
    """Metrics for every configuration, each on its own temporary index.

    With ``refit`` the confidence is re-fitted on ``questions`` (how :data:`kb.search.CALIBRATION`
    was made); ``cv_*`` columns are 5-fold cross-validated abstention figures, an honest estimate
    of how the calibration does on questions it was not fitted on.
    """
    from ingest.index import build, load_index
    from kb.search import calibration_for

    rows = []
    with tempfile.TemporaryDirectory(prefix="coursebot-eval-") as tmp:
        built: dict[tuple[str, str], Any] = {}
        for label, embedder, tokenizer, fusion in configs or CONFIGS:
            key = (embedder, tokenizer)
            if key not in built:
                cfg = replace(settings, data_dir=Path(tmp) / f"{embedder}-{tokenizer}", embedder=embedder,
                              tokenizer=tokenizer)
                t0 = time.perf_counter()
                build(cfg)
                built[key] = (load_index(cfg), time.perf_counter() - t0)
            index, ingest_s = built[key]
            searcher = Searcher(index, fusion=fusion)
            x, y = features(searcher, questions)
            searcher.calibration = fit_calibration(x, y, fusion) if refit else calibration_for(embedder, tokenizer, fusion)
            report = evaluate(searcher, questions, threshold=settings.abstain_threshold)
            cv = cross_validate(x, y, fusion, threshold=settings.abstain_threshold)
            rows.append({"config": label, "embedder": embedder, "tokenizer": tokenizer, "fusion": fusion,
                         "ingest_s": round(ingest_s, 2), **report["metrics"], **cv,
                         "calibration": [round(x, 3) for x in searcher.calibration]})
    return rows


# -- calibration ----------------------------------------------------------------------------------
def features(searcher: Searcher, questions: list[Question]) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for question in questions:
        res: SearchResult = searcher.search(question.q, k=1, threshold=0.5)
        f = res.features
        xs.append([f.get("cosine", 0.0), f.get("coverage", 0.0), math.log1p(max(f.get("bm25", 0.0), 0.0))])
        ys.append(0.0 if question.out_of_scope else 1.0)
    return np.asarray(xs), np.asarray(ys)


def fit_logistic(x: np.ndarray, y: np.ndarray, *, l2: float = 0.01, weights: np.ndarray | None = None,
                 iterations: int = 200) -> np.ndarray:
    """Newton's method for L2-regularised logistic regression; returns (w..., bias)."""
    xb = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(xb.shape[1])
    sw = np.ones(len(y)) if weights is None else weights
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-np.clip(xb @ w, -60, 60)))
        grad = xb.T @ (sw * (p - y)) + l2 * np.r_[w[:-1], 0]
        hess = (xb * (sw * p * (1 - p))[:, None]).T @ xb + l2 * np.diag(np.r_[np.ones(len(w) - 1), 0])
        step = np.linalg.solve(hess + 1e-9 * np.eye(len(w)), grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def _mask(fusion: str) -> np.ndarray:
    mask = np.ones(3, dtype=bool)
    if fusion == "dense":
        mask[[1, 2]] = False
    if fusion == "lexical":
        mask[0] = False
    return mask


def fit_calibration(x: np.ndarray, y: np.ndarray, fusion: str) -> tuple[float, float, float, float]:
    """Fit (a, b, c, d) of the confidence on features from :func:`features`: in-scope = 1, out = 0.

    Classes are weighted to equal total weight (there are more in-scope lines than
    out-of-scope ones), so the boundary does not simply favour the larger class.
    """
    mask = _mask(fusion)
    pos, neg = y.sum(), len(y) - y.sum()
    weights = np.where(y == 1, 0.5 / max(pos, 1), 0.5 / max(neg, 1)) * len(y)
    w = fit_logistic(x[:, mask], y, weights=weights)
    full = np.zeros(4)
    full[np.r_[mask, True]] = w
    return (float(full[0]), float(full[1]), float(full[2]), float(full[3]))


def cross_validate(x: np.ndarray, y: np.ndarray, fusion: str, *, threshold: float,
                   folds: int = 5) -> dict[str, float | None]:
    """Abstention and false abstention when each fold is scored by a calibration fitted on the others
    (``x``, ``y`` from :func:`features`)."""
    order = np.random.default_rng(0).permutation(len(y))
    predicted = np.zeros(len(y), dtype=bool)
    for f in range(folds):
        test = order[f::folds]
        train = np.setdiff1d(order, test)
        a, b, c, d = fit_calibration(x[train], y[train], fusion)
        z = x[test] @ np.array([a, b, c]) + d
        predicted[test] = 1 / (1 + np.exp(-np.clip(z, -60, 60))) >= threshold
    n_out, n_in = int((y == 0).sum()), int((y == 1).sum())
    return {"cv_abstention": _ratio(int((~predicted & (y == 0)).sum()), n_out),
            "cv_false_abstention": _ratio(int((~predicted & (y == 1)).sum()), n_in)}
