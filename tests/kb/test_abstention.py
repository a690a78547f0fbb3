"""Knowing what it knows: the abstention model's view of questions the course does not cover."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.index import load_index
from kb.core.settings import Settings
from kb.search import Searcher

THRESHOLD = Settings().abstain_threshold   # what the answerer uses


@pytest.fixture(scope="module")
def searcher(built_index: Settings) -> Searcher:
    return Searcher(load_index(built_index))


@pytest.mark.parametrize("question", [
    "파이토치 LSTM 예제", "Embedding 층에 GloVe 벡터를 넣고 trainable=False로 고정하려면?",
    # answered at 0.49 until the model counted the field's words no entry uses (unseen_domain)
    "BatchNormalization은 Conv1D 바로 뒤에 넣어요?",
])
def test_a_course_word_next_to_an_unknown_tool_is_not_enough_to_answer(searcher: Searcher, question: str) -> None:
    """Never-seen Latin tokens (PyTorch, also when written in Hangul; GloVe; BatchNormalization) mark a
    question the course does not cover, even when it names a layer the course does."""
    result = searcher.search(question, threshold=THRESHOLD)
    assert not result.answered, (result.confidence, result.features)


@pytest.mark.parametrize(("question", "unseen"), [
    ("Keras로 Transformer 인코더 블록을 쌓고 싶은데 LSTM 대신 써도 되나요?", {"transformer"}),
    ("How do I add label smoothing to my LSTM classifier's loss?", {"classifier", "label"}),
    ("LSTM 파라미터 개수 공식 알려주세요", set()),
    ("Why does return_sequences=True give a 3D output?", set()),
])
def test_words_of_the_field_no_entry_uses_are_counted(searcher: Searcher, question: str, unseen: set[str]) -> None:
    """unseen_domain counts the question's words that belong to the field (kb/domain_terms.txt) and
    that no record contains: a real topic the course does not cover, unlike an everyday word."""
    result = searcher.search(question, threshold=THRESHOLD)
    assert result.features["unseen_domain"] == pytest.approx(math.log1p(len(unseen))), result.features
    if unseen:
        assert not result.answered, result.confidence


def test_the_list_of_the_field_s_words_is_what_its_script_generates() -> None:
    """kb/domain_terms.txt is generated from the installed Keras and the script's glossary."""
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, str(root / "scripts" / "domain_terms.py"), "--check"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


def test_without_the_list_of_the_field_s_words_the_feature_is_zero(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    from kb import calibration

    monkeypatch.setattr(calibration, "DOMAIN_TERMS", tmp_path / "missing.txt")
    calibration.domain_terms.cache_clear()
    try:
        assert calibration.domain_terms() == frozenset()
        assert "unseen_domain is 0" in caplog.text
    finally:
        monkeypatch.undo()
        calibration.domain_terms.cache_clear()
    assert "crf" in calibration.domain_terms() and "padding" in calibration.domain_terms()


def test_stored_models_carry_no_digit_runs_a_personal_data_scan_would_flag(tmp_path: Path) -> None:
    """Full float reprs (0.01787029082576434) read like phone numbers to a scan of the index."""
    import re

    from kb.calibration import PACKAGED, Calibration, save_calibration
    from kb.core.pii import PHONE

    model = Calibration(config="x", features=["a", "b"], mean=[0.01787029082576434, 0.000217113444],
                        scale=[1.0106798765432, 0.5], coef=[-0.011951774328145582, 0.00217113444],
                        intercept=0.02039011648751244)
    save_calibration(tmp_path / "calibration.json", model)
    for text in ((tmp_path / "calibration.json").read_text(encoding="utf-8"), PACKAGED.read_text(encoding="utf-8")):
        assert not PHONE.search(text) and not re.search(r"\d{8,}", text)
    assert (tmp_path / "calibration.json").read_text(encoding="utf-8").count("0.0178703") == 1
