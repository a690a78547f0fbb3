"""The knowledge base itself: valid, covering every course document, free of personal data."""

from __future__ import annotations

from collections import Counter

from kb.core.pii import EMAIL, PHONE
from kb.core.settings import PROJECT_ROOT
from kb.core.store import load_entries
from kb.question import HANGUL
from tests.conftest import ENTRIES_DIR

COURSE_DOCS = {
    "000_cb71a1bfbe5d09c1.txt", "001_90041b65b60ef6bf.txt", "002_197d7e008ec5a5da.txt",
    "003_c4e6cee9a734aaa7.txt", "004_0afffef5fce87cf0.txt",
}


def test_at_least_24_valid_entries_with_15_verified() -> None:
    entries = load_entries(ENTRIES_DIR)
    assert len(entries) >= 24
    assert sum(1 for e in entries if e.verify) >= 15
    assert len({e.id for e in entries}) == len(entries)
    # every entry answers a Korean student in Korean and an English one in English
    assert {e.lang for e in entries} == {"ko"}
    assert all(e.answer_en and HANGUL.search(e.answer) for e in entries), [e.id for e in entries if not e.answer_en]


def test_every_course_document_is_cited_by_three_entries() -> None:
    cited = Counter(doc for e in load_entries(ENTRIES_DIR) for doc in set(e.source_docs()))
    for doc in COURSE_DOCS:
        assert cited[doc] >= 3, doc


def test_known_source_mistakes_are_corrected() -> None:
    by_id = {e.id: e for e in load_entries(ENTRIES_DIR)}
    dense = by_id["dense-params-after-bilstm"]
    assert "8,256" in dense.answer and "4,160" in dense.answer
    assert {c.text for c in dense.claims} >= {"8,256", "4,160", "714,433"}
    hyper = by_id["lstm-hyperparameters"]
    assert "hard_sigmoid" in hyper.answer and "기본값은 `sigmoid`" in hyper.answer


def test_no_email_or_phone_anywhere_in_kb() -> None:
    hits = []
    for path in (PROJECT_ROOT / "kb").rglob("*"):
        if path.is_file() and path.suffix in {".yaml", ".py", ".md", ".txt"}:
            text = path.read_text(encoding="utf-8")
            hits += [f"{path.name}: {m.group(0)}" for pat in (EMAIL, PHONE) for m in pat.finditer(text)]
    assert hits == []


def test_no_pii_by_the_release_checks_own_pattern() -> None:
    import re

    pattern = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
                         r"|01[016789][- .]?[0-9]{3,4}[- .]?[0-9]{4}")
    for path in ENTRIES_DIR.glob("*.yaml"):
        assert not pattern.search(path.read_text(encoding="utf-8")), path.name


def test_doubtful_statements_are_corrected_in_both_languages() -> None:
    by_id = {e.id: e for e in load_entries(ENTRIES_DIR)}
    hyper = by_id["lstm-hyperparameters"]
    assert "`units`" in hyper.answer.split("파라미터 수를 바꾸는 인자는")[1][:40]
    assert "Only `units`" in (hyper.answer_en or "")
    assert {c.text for c in hyper.claims} >= {"1,760", "1,680", "6,720"}
    for entry_id in ("lstm-hyperparameters", "dropout-vs-recurrent-dropout"):
        for text in (by_id[entry_id].answer, by_id[entry_id].answer_en or ""):
            assert all(word in text for word in ("cuDNN", "tanh", "sigmoid", "unroll", "use_bias")), entry_id
    invariance = by_id["translation-invariance-1d"]
    assert "등변성" in invariance.answer and "equivariant" in (invariance.answer_en or "")
    time_axis = by_id["keras-time-axis"]
    assert "항상" not in time_axis.answer
    assert "time_major" in time_axis.answer and "time_major" in (time_axis.answer_en or "")
