"""What the second stage reads: the first stage's findings and each fused top candidate's features.

:mod:`kb.search` computes them (:meth:`kb.search.Searcher.candidates`); ``coursebot eval --refit``
fits the reranker on them (:mod:`kb.calibrate`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ingest.uncovered_view import Nearest
from kb.layer_spec import LAYERS

# Cheap features only: the cosine to each candidate's whole answer was one too, but embedding five
# answers at question time made a cold `ask` 3-4 s slower for no gain the dev set could show.
FIRST_STAGE_FEATURES: tuple[str, ...] = ("cosine", "cosine_gap", "coverage", "lexical", "lexical_gap", "fused_rank")
# The Universal Sentence Encoder's view of each candidate (ingest.sentence_view): its best cosine to
# the entry's short texts and to its answer paragraphs, each also as a gap to the best entry's, and
# the entry's rank among all entries by the first.
SENTENCE_FEATURES: tuple[str, ...] = ("sentence", "sentence_gap", "sentence_answer", "sentence_answer_gap",
                                      "sentence_rank")
# The share of the layer classes the question names (LSTM, SimpleRNN, Conv1D ...) that the candidate's
# title names too: an entry that mentions SimpleRNN in passing is not the entry about SimpleRNN.
TITLE_FEATURES: tuple[str, ...] = ("title_layers",)
RERANK_FEATURES: tuple[str, ...] = FIRST_STAGE_FEATURES + SENTENCE_FEATURES + TITLE_FEATURES
LAYER_WORDS = frozenset(name.lower() for name in LAYERS)   # as the tokenizer writes them


@dataclass(frozen=True)
class Retrieved:
    """What the first stage found for one question."""

    about: str                  # the question reduced to what it is about (kb.focus)
    tokens: list[str]           # its BM25 tokens
    query: np.ndarray | None    # its e5 vector
    dense: np.ndarray           # each record's best e5 cosine
    lexical: np.ndarray         # each record's BM25 score
    fused: np.ndarray           # the fused ranking score
    view: tuple[np.ndarray, np.ndarray] | None = None   # each record's USE cosines (short texts, answers)
    near: Nearest | None = None   # how near the question is to the uncovered topics' examples


def sentence_features(view: tuple[np.ndarray, np.ndarray] | None, i: int) -> dict[str, float]:
    if view is None:
        return dict.fromkeys(SENTENCE_FEATURES, 0.0)
    short, answer = view
    return {"sentence": float(short[i]), "sentence_gap": float(short[i] - short.max()),
            "sentence_answer": float(answer[i]), "sentence_answer_gap": float(answer[i] - answer.max()),
            "sentence_rank": 1.0 / (1 + int((short > short[i]).sum()))}


def abstention_sentence_features(view: tuple[np.ndarray, np.ndarray] | None, top: int) -> dict[str, float]:
    """The sentence view's part of the abstention features (kb.calibration.SENTENCE_ABSTAIN_FEATURES)."""
    if view is None or len(view[0]) == 0:
        return {"sentence": 0.0, "sentence_best": 0.0, "sentence_margin": 0.0}
    short = view[0]
    best = np.sort(short)[::-1]
    second = float(best[1]) if len(best) > 1 else 0.0
    return {"sentence": float(short[top]), "sentence_best": float(best[0]), "sentence_margin": float(best[0]) - second}


def uncovered_features(near: Nearest | None) -> dict[str, float]:
    """The uncovered topics' part of the abstention features (kb.calibration): none when the index has
    no examples, and the fitted model then reads each as its mean (no push either way)."""
    if near is None:
        return {}
    halves = {"uncovered_dense": near.dense, "uncovered_sentence": near.sentence}
    return {name: value for name, value in halves.items() if value is not None}
