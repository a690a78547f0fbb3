"""Fitting the abstention model (``coursebot eval --refit``) and comparing configurations.

:func:`fit` fits scikit-learn's ``LogisticRegression`` (standardised
features; unweighted classes measured best in cross-validation on the dev sets) on the search
features of development questions: in-scope lines are positives, out-of-scope lines negatives;
refused lines and pasted errors routed by ``error_patterns`` are left out (neither reaches the
model). Its
``cv`` figures are 5-fold cross-validated (each question scored by a model fitted without it),
an honest estimate on unseen questions. Held-out files are never fitted on.

:func:`compare` builds a throw-away index per configuration (each embedder alone, BM25 alone with
each tokenizer, and the fusions) and reports each with its own cross-validated model, so that the
choice of the default is measured, not assumed.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from kb.calibration import FEATURES, FIRST_STAGE_ABSTAIN_FEATURES, FIRST_STAGE_PREFIX, Calibration
from kb.core.settings import Settings
from kb.evaluate import Question, evaluate
from kb.refusals import check
from kb.rerank_features import RERANK_FEATURES
from kb.search import Searcher
from kb.search_types import Fusion

FOLDS = 5
REPEATS = 10   # shuffles of the folds the cross-validated scores are averaged over
DECLINE_TARGET = 0.96   # share of out-of-scope questions the threshold rule aims to decline ...
FALSE_ABSTENTION_BUDGET = 0.01   # ... and the in-scope share it may decline when it declines more
C = 1.0   # inverse L2 strength of the logistic regression


def features(searcher: Searcher, questions: list[Question],
             names: tuple[str, ...] = FEATURES) -> tuple[np.ndarray, np.ndarray]:
    """One row of ``names`` per question the model decides; labels 1 = in scope."""
    xs, ys = [], []
    for question in questions:
        if check(question.q) is not None:
            continue
        f = searcher.search(question.q, k=1).features
        if "error_match" in f:
            continue
        xs.append([f.get(name, 0.0) for name in names])
        ys.append(0 if question.out_of_scope else 1)
    return np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.int64)


def _model() -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=1000))


def rule_threshold(p: np.ndarray, y: np.ndarray) -> float:
    """The threshold rule, in steps of 0.05 over the cross-validated predictions: the lowest value
    at which the model declines :data:`DECLINE_TARGET` of the out-of-scope questions; raised, while
    the false abstentions stay within :data:`FALSE_ABSTENTION_BUDGET`, as far as they allow (a wrong
    confident answer harms a student more than a question sent on to the instructors)."""
    out, inside = y == 0, y == 1
    steps = [step / 20 for step in range(1, 20)]
    declining = [t for t in steps if float((p[out] < t).mean()) >= DECLINE_TARGET]
    if not declining:
        return 0.95
    lowest = declining[0]
    within = [t for t in steps if t >= lowest and (not inside.any() or float((p[inside] < t).mean()) <= FALSE_ABSTENTION_BUDGET)]
    return max(within, default=lowest)


def cross_validated(x: np.ndarray, y: np.ndarray, threshold: float) -> dict[str, float | None]:
    """Abstention and false abstention when every question is scored by a model fitted without it,
    and the threshold :func:`rule_threshold` picks from those scores."""
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    # Averaged over REPEATS shuffles of the folds: one shuffle alone moved the rule's threshold by a
    # step when a single dev question changed.
    splits = min(FOLDS, int(min(np.bincount(y, minlength=2))))
    p = np.mean([cross_val_predict(_model(), x, y, method="predict_proba",
                                   cv=StratifiedKFold(n_splits=splits, shuffle=True, random_state=seed))[:, 1]
                 for seed in range(REPEATS)], axis=0)
    answered = p >= threshold
    n_out, n_in = int((y == 0).sum()), int((y == 1).sum())
    return {"cv_abstention": round(float((~answered & (y == 0)).sum()) / n_out, 4) if n_out else None,
            "cv_false_abstention": round(float((~answered & (y == 1)).sum()) / n_in, 4) if n_in else None,
            "cv_rule_threshold": rule_threshold(p, y) if n_out else None}


def fit(searcher: Searcher, questions: list[Question], *, threshold: float,
        fitted_on: list[str] | None = None, first_stage_only: bool = False) -> Calibration:
    """The abstention model over :data:`FEATURES`, or over the first stage's alone (stored under
    :data:`FIRST_STAGE_PREFIX`: the fallback for an index without the sentence view, and the only
    model when the searcher has no view to fit on)."""
    only_first = first_stage_only or searcher.sentence is None
    names = FIRST_STAGE_ABSTAIN_FEATURES if only_first else FEATURES
    x, y = features(searcher, questions, names)
    if len(set(y.tolist())) < 2:
        raise ValueError("fitting needs both in-scope and out-of-scope questions")
    model = _model().fit(x, y)
    scaler, logistic = model[0], model[1]
    config = FIRST_STAGE_PREFIX + searcher.config if first_stage_only else searcher.config
    return Calibration(config=config, features=list(names), mean=scaler.mean_.tolist(),
                       scale=scaler.scale_.tolist(), coef=logistic.coef_[0].tolist(),
                       intercept=float(logistic.intercept_[0]), threshold=threshold,
                       fitted_on=fitted_on or [], cv=cross_validated(x, y, threshold))


def fit_reranker(searcher: Searcher, questions: list[Question], *,
                 fitted_on: list[str] | None = None) -> Calibration:
    """The second stage: a logistic model over each fused top candidate's features, positives being the
    candidates that answer the question; ``cv`` holds the cross-validated hit@1 with and without it."""
    from sklearn.model_selection import GroupKFold

    xs, ys, groups = [], [], []
    for n, question in enumerate(questions):
        if question.out_of_scope or check(question.q) is not None or searcher.errors.route(question.q):
            continue
        for i, f in searcher.candidates(question.q):
            rec = searcher.index.records[i]
            xs.append([f[name] for name in RERANK_FEATURES])
            ys.append(int(question.matches(rec.entry_id or rec.key, list(rec.sources))))
            groups.append(n)
    x, y, g = np.asarray(xs), np.asarray(ys), np.asarray(groups)
    scores = np.zeros(len(y))
    for train, test in GroupKFold(n_splits=FOLDS).split(x, y, g):
        scores[test] = _model().fit(x[train], y[train]).predict_proba(x[test])[:, 1]
    firsts = [np.flatnonzero(g == n) for n in np.unique(g)]
    cv_hit1 = sum(int(y[rows[np.argmax(scores[rows])]]) for rows in firsts) / len(firsts)
    fused_hit1 = sum(int(y[rows[0]]) for rows in firsts) / len(firsts)
    model = _model().fit(x, y)
    scaler, logistic = model[0], model[1]
    return Calibration(config=f"rerank:{searcher.config}", features=list(RERANK_FEATURES),
                       mean=scaler.mean_.tolist(), scale=scaler.scale_.tolist(), coef=logistic.coef_[0].tolist(),
                       intercept=float(logistic.intercept_[0]), fitted_on=fitted_on or [],
                       cv={"cv_rerank_hit@1": round(cv_hit1, 4), "fused_hit@1": round(fused_hit1, 4)})


# -- comparing configurations -------------------------------------------------------------------
CONFIGS: list[tuple[str, str, str, Fusion]] = [
    # (label, embedder, tokenizer, fusion)
    ("e5 alone", "e5", "kiwi", Fusion.DENSE),
    ("minilm alone", "minilm", "kiwi", Fusion.DENSE),
    ("BM25 Kiwi alone", "none", "kiwi", Fusion.LEXICAL),
    ("BM25 bigrams alone", "none", "bigram", Fusion.LEXICAL),
    ("e5 + BM25 Kiwi, RRF (default)", "e5", "kiwi", Fusion.RRF),
    ("e5 + BM25 Kiwi, weighted", "e5", "kiwi", Fusion.WEIGHTED),
    ("e5 + BM25 bigrams, RRF", "e5", "bigram", Fusion.RRF),
    ("minilm + BM25 Kiwi, RRF", "minilm", "kiwi", Fusion.RRF),
]


def compare(settings: Settings, questions: list[Question],
            configs: list[tuple[str, str, str, Fusion]] | None = None) -> list[dict[str, Any]]:
    """Metrics for every configuration, each on its own temporary index with its own fitted model."""
    from ingest.index import build, load_index

    rows = []
    with tempfile.TemporaryDirectory(prefix="coursebot-eval-") as tmp:
        built: dict[tuple[str, str], Any] = {}
        for label, embedder, tokenizer, fusion in configs or CONFIGS:
            key = (embedder, tokenizer)
            if key not in built:
                cfg = dataclasses.replace(settings, data_dir=Path(tmp) / f"{embedder}-{tokenizer}",
                                          embedder=embedder, tokenizer=tokenizer)
                t0 = time.perf_counter()
                build(cfg)
                built[key] = (load_index(cfg), time.perf_counter() - t0)
            index, ingest_s = built[key]
            searcher = Searcher(index, fusion=fusion)
            searcher.calibration = fit(searcher, questions, threshold=settings.abstain_threshold)
            report = evaluate(searcher, questions, threshold=settings.abstain_threshold)
            rows.append({"config": label, "embedder": embedder, "tokenizer": tokenizer, "fusion": fusion.value,
                         "ingest_s": round(ingest_s, 2), **report["metrics"], **searcher.calibration.cv})
    return rows
