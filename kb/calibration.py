"""The fitted abstention model, kept as data next to the index (``var/index/calibration.json``).

The confidence that decides whether a question is answered is a logistic model over features of
the search (see :data:`FEATURES`), fitted with scikit-learn by ``coursebot eval --refit`` on the
development question sets and stored per configuration (``embedder/tokenizer/fusion``). Scoring
needs only the stored numbers: nothing here imports scikit-learn. A copy of the fitted file ships
in the package (``kb/calibration.json``) so that a fresh checkout answers before any refit.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, Field

log = logging.getLogger(__name__)

FILE_NAME = "calibration.json"
PACKAGED = Path(__file__).with_name(FILE_NAME)
# What the abstention model sees about a question and its top hit (all cheap, all in [0, ~5]).
FIRST_STAGE_ABSTAIN_FEATURES: tuple[str, ...] = (
    "cosine",          # best cosine similarity of the top hit's short texts to the question
    "cosine_margin",   # top-1 minus top-2 best cosine over all records
    "cosine_z",        # how far the top cosine stands above the others (z-score over all records)
    "coverage",        # idf-weighted share of the question's tokens the top hit contains
    "unseen",          # idf-weighted share of the question's tokens no record contains at all
    "unseen_latin",    # the same over its Latin tokens only (layer names, arguments, English terms) ...
    "unseen_korean",   # ... and over its Korean ones (everyday Korean words no entry uses are common)
    "lexical",         # log(1 + BM25 score of the top hit)
    "lexical_margin",  # log(1 + BM25 top-1) - log(1 + BM25 top-2)
    "agree",           # 1 when the dense and the lexical rankings put the same record first
    "length",          # log(1 + number of distinct question tokens)
)
# The Universal Sentence Encoder's view (ingest.sentence_view), the best single separator of in-scope
# from out-of-scope questions measured here: the top hit's best cosine to the question, the best
# cosine over all entries, and the margin of the best to the second best.
SENTENCE_ABSTAIN_FEATURES: tuple[str, ...] = ("sentence", "sentence_best", "sentence_margin")
FEATURES: tuple[str, ...] = FIRST_STAGE_ABSTAIN_FEATURES + SENTENCE_ABSTAIN_FEATURES
# Without the sentence view (an index built before it) the model fitted on the first stage alone is
# used; it is stored under this prefix beside the full one.
FIRST_STAGE_PREFIX = "first-stage:"


class Calibration(BaseModel):
    """A standardised logistic model: ``p = sigmoid(intercept + sum(coef * (x - mean) / scale))``."""

    config: str
    features: list[str]
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    threshold: float = 0.5
    fitted_on: list[str] = Field(default_factory=list)
    cv: dict[str, float | None] = Field(default_factory=dict)

    def predict(self, values: Mapping[str, float]) -> float:
        z = self.intercept
        for name, mean, scale, coef in zip(self.features, self.mean, self.scale, self.coef, strict=True):
            z += coef * (values.get(name, 0.0) - mean) / (scale or 1.0)
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))


def _read(path: Path) -> dict[str, Calibration]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return {key: Calibration.model_validate(value) for key, value in raw.items()}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable calibration file %s: %s", path, exc)
        return {}


def load_calibration(index_root: Path | None, config: str) -> Calibration | None:
    """The model for ``config``: the one refitted next to the index first, else the packaged one."""
    for path in ([index_root / FILE_NAME] if index_root is not None else []) + [PACKAGED]:
        found = _read(path).get(config)
        if found is not None:
            return found
    return None


def save_calibration(path: Path, calibration: Calibration) -> None:
    """Add or replace one configuration's model in the file at ``path`` (written atomically)."""
    models = _read(path)
    models[calibration.config] = calibration
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps({k: m.model_dump(mode="json") for k, m in sorted(models.items())},
                              indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
