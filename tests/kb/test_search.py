"""Search quality on the real index and the dev set; the eval command's contract; lazy imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.index import load_index
from kb.core.errors import UsageError
from kb.core.settings import PROJECT_ROOT, Settings
from kb.evaluate import Question, evaluate, load_questions
from kb.search import Searcher

DEV_SET = PROJECT_ROOT / "tests" / "data" / "dev_questions.jsonl"


@pytest.fixture(scope="module")
def searcher(built_index: Settings) -> Searcher:
    return Searcher(load_index(built_index))


def test_dev_set_is_large_and_varied() -> None:
    questions = load_questions(DEV_SET)
    in_scope = [q for q in questions if not q.out_of_scope]
    assert len(in_scope) >= 50 and len(questions) - len(in_scope) >= 12
    assert any("Error" in q.q for q in in_scope) and any("\n" in q.q for q in in_scope)
    assert any(q.q.isascii() for q in in_scope) and any(not q.q.isascii() for q in in_scope)


def test_dev_set_meets_the_quality_targets(searcher: Searcher) -> None:
    m = evaluate(searcher, load_questions(DEV_SET), threshold=0.5)["metrics"]
    assert m["hit@1"] >= 0.90 and m["hit@3"] >= 0.97, m
    assert m["abstention"] >= 0.9 and m["false_abstention"] <= 0.03, m


def test_held_out_questions_generalise(searcher: Searcher) -> None:
    """Questions never used to fit the confidence: a guard against overfitting the dev set."""
    m = evaluate(searcher, load_questions(DEV_SET.with_name("holdout_questions.jsonl")), threshold=0.5)["metrics"]
    assert m["hit@1"] >= 0.85 and m["hit@3"] >= 0.93, m
    assert m["abstention"] >= 0.8 and m["false_abstention"] <= 0.1, m


@pytest.mark.parametrize(("question", "expected"), [
    ("TimeDistributed 왜 씀?", "timedistributed-role"),
    ("return_sequences", "return-sequences"),
    ("expected ndim=3, found ndim=4", "conv1d-4d-char-embedding"),
    ("Conv1D 4D input error", "conv1d-4d-char-embedding"),
    ("recurrent_dropout", "dropout-vs-recurrent-dropout"),
    ("go_backwards", "lstm-stateful-unroll-go-backwards"),
])
def test_identifiers_match(searcher: Searcher, question: str, expected: str) -> None:
    ids = [h.id for h in searcher.search(question, k=3).hits]
    assert expected in ids[:2], ids


def test_out_of_scope_abstains_with_low_confidence(searcher: Searcher) -> None:
    result = searcher.search("PyTorch에서 optimizer.zero_grad()는 왜 호출해요?")
    assert not result.answered and result.confidence < 0.5
    result = searcher.search("LSTM 파라미터 개수 공식 알려주세요")
    assert result.answered and result.confidence > 0.8


def test_eval_cli_prints_one_json_object(built_index: Settings, tmp_path: Path) -> None:
    questions = tmp_path / "q.jsonl"
    questions.write_text("\n".join(json.dumps(line, ensure_ascii=False) for line in [
        {"q": "return_sequences True False 차이", "expect_ids": ["return-sequences"]},
        {"q": "Embedding 파라미터 수", "expect_sources": ["002_"]},
        {"q": "오늘 점심 메뉴 추천", "out_of_scope": True},
    ]), encoding="utf-8")
    env = {**os.environ, "COURSEBOT_DATA_DIR": str(built_index.data_dir)}
    out = subprocess.run([sys.executable, "-m", "kb", "eval", str(questions), "--json"], capture_output=True,
                         text=True, env=env, cwd=PROJECT_ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert set(data) == {"metrics", "results"}
    assert data["metrics"]["questions"] == 3 and data["metrics"]["abstention"] == 1.0
    assert data["results"][0]["hits"][0]["id"] == "return-sequences"


def test_bad_question_file_is_one_sentence(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"q": "ok", "expect_ids": ["x"]}\n{"oops": 1}\n')
    with pytest.raises(UsageError, match="line 2"):
        load_questions(bad)
    assert Question("q", expect_sources=("000_",)).matches("e", ["000_cb71.txt"])


HEAVY = ("tensorflow", "torch", "streamlit", "keras", "tf_keras", "sentence_transformers")


@pytest.mark.parametrize("flags", [["--no-verify"], []])
def test_asking_never_imports_heavy_libraries(built_index: Settings, flags: list[str]) -> None:
    script = (
        "import sys, json\n"
        "from kb.cli import main\n"
        f"code = main(['ask', 'LSTM(64) 뒤 Dense(64) 파라미터 수', '--json', *{flags!r}])\n"
        f"heavy = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})\n"
        "print(json.dumps({'code': code, 'heavy': heavy}), file=sys.stderr)\n"
    )
    env = {**os.environ, "COURSEBOT_DATA_DIR": str(built_index.data_dir)}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                         cwd=PROJECT_ROOT, timeout=300)
    report = json.loads(out.stderr.strip().splitlines()[-1])
    assert report == {"code": 0, "heavy": []}
    assert json.loads(out.stdout)["answered"] is True


RETRIEVAL_DEV = DEV_SET.with_name("retrieval_dev.jsonl")
RETRIEVAL_HOLDOUT = DEV_SET.with_name("retrieval_holdout.jsonl")
RETRIEVAL_HOLDOUT2 = DEV_SET.with_name("retrieval_holdout2.jsonl")   # written after the last fit, never fitted on
RETRIEVAL_HOLDOUT3 = DEV_SET.with_name("retrieval_holdout3.jsonl")   # the same, by another author
RETRIEVAL_HOLDOUT4 = DEV_SET.with_name("retrieval_holdout4.jsonl")   # a fresh one, by another author


def test_retrieval_sets_cover_every_kind() -> None:
    for path, n_in, n_out in ((RETRIEVAL_DEV, 60, 60), (RETRIEVAL_HOLDOUT, 40, 40), (RETRIEVAL_HOLDOUT2, 60, 60),
                                (RETRIEVAL_HOLDOUT3, 60, 60)):
        questions = load_questions(path)
        kinds = {q.kind for q in questions}
        assert sum(not q.out_of_scope for q in questions) >= n_in and sum(q.out_of_scope for q in questions) >= n_out
        assert {"keyword", "code", "error2", "error3", "english", "near_miss", "personal", "financial",
                "injection", "gibberish", "empty"} <= kinds, kinds
        near = sum(q.kind == "near_miss" for q in questions)
        assert near * 2 >= sum(q.out_of_scope for q in questions)


def test_held_out_retrieval_set_meets_the_targets(searcher: Searcher) -> None:
    """Never fitted on: entry hit@1, false abstention and out-of-scope declined on unseen questions."""
    m = evaluate(searcher, load_questions(RETRIEVAL_HOLDOUT), threshold=0.5)["metrics"]
    assert m["hit@1"] >= 0.85 and m["hit@3"] >= 0.95 and m["doc_hit@1"] >= 0.95, m
    assert m["false_abstention"] <= 0.12 and m["abstention"] >= 0.9, m
    assert m["abstention_by_kind"]["personal"] == 1.0 and m["abstention_by_kind"]["financial"] == 1.0, m


@pytest.mark.parametrize(("path", "floor", "most_false_abstention"), [
    # written after the shipped model was fitted; when added: hit@1 0.797, hit@3 0.969, declined 60/64
    # (with English paraphrases and the model refitted on all dev files: hit@1 0.891, declined 64/64)
    (RETRIEVAL_HOLDOUT2, {"hit@1": 0.85, "hit@3": 0.95, "doc_hit@1": 0.9, "abstention": 0.95}, 0.08),
    # by another author, who never saw an answer; when added: hit@1 0.786 (0.806 once multi-line errors
    # were read whole), hit@3 0.913, declined 67/75 (then hit@1 0.884, declined 72/75, but false
    # abstention 7/103 -> 13/103: the refit declines more, wrongly too)
    (RETRIEVAL_HOLDOUT3, {"hit@1": 0.84, "hit@3": 0.92, "doc_hit@1": 0.9, "abstention": 0.93}, 0.14),
    # a fresh set by another author (entries only), measured once before and once after the English
    # paraphrases and the refit: hit@1 0.714 -> 0.757, hit@3 0.871 -> 0.943, false abstention 10/70 ->
    # 13/70, declined 43/45 -> 44/45
    (RETRIEVAL_HOLDOUT4, {"hit@1": 0.72, "hit@3": 0.9, "doc_hit@1": 0.9, "abstention": 0.93}, 0.22),
], ids=["holdout2", "holdout3", "holdout4"])
def test_the_later_held_out_sets_do_not_regress(searcher: Searcher, path: Path, floor: dict[str, float],
                                                 most_false_abstention: float) -> None:
    m = evaluate(searcher, load_questions(path), threshold=0.5)["metrics"]
    assert all(m[name] >= value for name, value in floor.items()), m
    assert m["false_abstention"] <= most_false_abstention, m
    refused = {k: v for k, v in m["abstention_by_kind"].items() if k in ("personal", "financial", "empty")}
    assert {"personal", "financial"} <= set(refused) and all(v == 1.0 for v in refused.values()), m


def test_the_abstention_model_is_data_stored_with_the_index(searcher: Searcher, tmp_path: Path) -> None:
    from kb.calibrate import fit
    from kb.calibration import load_calibration, save_calibration

    assert searcher.calibration is not None and searcher.calibration.config == searcher.config
    model = fit(searcher, load_questions(DEV_SET), threshold=0.5, fitted_on=[DEV_SET.name])
    save_calibration(tmp_path / "calibration.json", model)
    loaded = load_calibration(tmp_path, searcher.config)
    assert loaded == model and model.cv["cv_false_abstention"] is not None
    assert load_calibration(tmp_path, "other/config/rrf") is None or \
        load_calibration(tmp_path, "other/config/rrf") != model


def test_refit_refuses_held_out_questions(built_index: Settings) -> None:
    env = {**os.environ, "COURSEBOT_DATA_DIR": str(built_index.data_dir)}
    out = subprocess.run([sys.executable, "-m", "kb", "eval", str(RETRIEVAL_HOLDOUT), "--refit"],
                         capture_output=True, text=True, env=env, cwd=PROJECT_ROOT, timeout=300)
    assert out.returncode == 2 and "held-out" in out.stderr and "Traceback" not in out.stderr


def test_coverage_reads_the_tokens_the_build_saved_and_they_equal_a_fresh_tokenization(searcher: Searcher) -> None:
    from ingest.tokens import tokenize

    tokens = tokenize("Bidirectional LSTM 출력 크기와 파라미터", searcher.index.tokenizer)
    stored = searcher.index.stored_tokens()
    for i, record in enumerate(searcher.index.records[:10]):
        assert stored[record.hash] == tokenize(record.text, searcher.index.tokenizer)
        have = set(stored[record.hash])
        total = sum(searcher.index.idf(t) for t in set(tokens))
        expected = sum(searcher.index.idf(t) for t in set(tokens) if t in have) / total
        assert searcher.coverage(tokens, i) == pytest.approx(expected)
