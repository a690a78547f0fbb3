"""Search quality on the real index and the dev set; the eval command's contract; lazy imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ingest.index import load_index
from kb.core.errors import UsageError
from kb.core.settings import PROJECT_ROOT, Settings
from kb.evaluate import Question, evaluate, load_questions
from kb.search import Searcher

THRESHOLD = Settings().abstain_threshold   # what the answerer uses

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
    m = evaluate(searcher, load_questions(DEV_SET), threshold=THRESHOLD)["metrics"]
    assert m["hit@1"] >= 0.90 and m["hit@3"] >= 0.97, m
    assert m["abstention"] >= 0.9 and m["false_abstention"] <= 0.03, m


def test_held_out_questions_generalise(searcher: Searcher) -> None:
    """Questions never used to fit the confidence: a guard against overfitting the dev set."""
    m = evaluate(searcher, load_questions(DEV_SET.with_name("holdout_questions.jsonl")), threshold=THRESHOLD)["metrics"]
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
    result = searcher.search("PyTorch에서 optimizer.zero_grad()는 왜 호출해요?", threshold=THRESHOLD)
    assert not result.answered and result.confidence < THRESHOLD
    result = searcher.search("LSTM 파라미터 개수 공식 알려주세요", threshold=THRESHOLD)
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
# Held out when written, each measured before it was fitted on (README); fitted on since, so now
# regression floors only. dev7 to dev10 were retrieval_holdout5 to 8 until they were fitted on.
RETRIEVAL_DEV3 = DEV_SET.with_name("retrieval_dev3.jsonl")
RETRIEVAL_DEV4 = DEV_SET.with_name("retrieval_dev4.jsonl")
RETRIEVAL_DEV5 = DEV_SET.with_name("retrieval_dev5.jsonl")
RETRIEVAL_DEV6 = DEV_SET.with_name("retrieval_dev6.jsonl")
RETRIEVAL_DEV7 = DEV_SET.with_name("retrieval_dev7.jsonl")
RETRIEVAL_DEV8 = DEV_SET.with_name("retrieval_dev8.jsonl")
RETRIEVAL_DEV9 = DEV_SET.with_name("retrieval_dev9.jsonl")
RETRIEVAL_DEV10 = DEV_SET.with_name("retrieval_dev10.jsonl")
# Never fitted on, each written by a helper who read only the entries. holdout9: measured once before
# and once after the unseen_domain change, then used to check this stop's steps (its misses not read).
RETRIEVAL_HOLDOUT9 = DEV_SET.with_name("retrieval_holdout9.jsonl")
# holdout10: clean, written at the start of this stop; measured once before (208f60f) and once after.
RETRIEVAL_HOLDOUT = DEV_SET.with_name("retrieval_holdout10.jsonl")


def test_retrieval_sets_cover_every_kind() -> None:
    for path, n_in, n_out in ((RETRIEVAL_DEV, 60, 60), (RETRIEVAL_DEV3, 40, 40), (RETRIEVAL_DEV4, 60, 60),
                                (RETRIEVAL_DEV5, 60, 60)):
        questions = load_questions(path)
        kinds = {q.kind for q in questions}
        assert sum(not q.out_of_scope for q in questions) >= n_in and sum(q.out_of_scope for q in questions) >= n_out
        assert {"keyword", "code", "error2", "error3", "english", "near_miss", "personal", "financial",
                "injection", "gibberish", "empty"} <= kinds, kinds
        near = sum(q.kind == "near_miss" for q in questions)
        assert near * 2 >= sum(q.out_of_scope for q in questions)


@pytest.mark.parametrize("path", [RETRIEVAL_HOLDOUT9, RETRIEVAL_HOLDOUT], ids=["holdout9", "holdout10"])
def test_the_held_out_sets_are_large_varied_and_never_fitted_on(path: Path) -> None:
    questions = load_questions(path)
    assert sum(not q.out_of_scope for q in questions) >= 100 and sum(q.out_of_scope for q in questions) >= 50
    assert {"korean", "english", "code", "error", "keyword", "near_miss", "personal", "financial", "injection",
            "off_topic", "gibberish"} <= {q.kind for q in questions}
    from kb.calibration import PACKAGED

    for model in json.loads(PACKAGED.read_text(encoding="utf-8")).values():
        assert not any("holdout" in name for name in model["fitted_on"]), model["fitted_on"]


@pytest.mark.parametrize(("path", "floor", "most_false_abstention"), [
    # holdout10, clean. Before (208f60f) -> after: hit@1 0.94 -> 0.95, hit@3 0.98 -> 1.0, doc 0.99 -> 1.0,
    # false abstention 1/100 -> 0/100, declined 46/50 -> 47/50
    (RETRIEVAL_HOLDOUT, {"hit@1": 0.93, "hit@3": 0.97, "doc_hit@1": 0.97, "abstention": 0.92}, 0.02),
    # holdout9. 702b5ba -> 213c281 -> this stop: hit@1 0.84 -> 0.88 -> 0.94, false abstention 1 -> 2 -> 1,
    # declined 42 -> 47 -> 47 /50
    (RETRIEVAL_HOLDOUT9, {"hit@1": 0.92, "hit@3": 0.96, "doc_hit@1": 0.97, "abstention": 0.92}, 0.02),
], ids=["holdout10", "holdout9"])
def test_held_out_retrieval_sets_do_not_regress(searcher: Searcher, path: Path, floor: dict[str, float],
                                                 most_false_abstention: float) -> None:
    m = evaluate(searcher, load_questions(path), threshold=THRESHOLD)["metrics"]
    assert all(m[name] >= value for name, value in floor.items()), m
    assert m["false_abstention"] <= most_false_abstention, m
    assert all(m["abstention_by_kind"][k] == 1.0 for k in ("personal", "financial", "injection", "gibberish")), m


@pytest.mark.parametrize(("path", "floor", "most_false_abstention"), [
    # each: when it was held out -> now (fitted on). dev3: hit@1 0.896 -> 0.938, declined 43/44 -> 44/44
    (RETRIEVAL_DEV3, {"hit@1": 0.9, "hit@3": 0.97, "doc_hit@1": 0.93, "abstention": 0.95}, 0.1),
    # dev4: hit@1 0.891 -> 0.938, false abstention 3/64 -> 1/64, declined 64/64 -> 64/64
    (RETRIEVAL_DEV4, {"hit@1": 0.9, "hit@3": 0.93, "doc_hit@1": 0.95, "abstention": 0.97}, 0.07),
    # dev5: hit@1 0.884 -> 0.942, false abstention 13/103 -> 1/103, declined 72/75 -> 71/75
    (RETRIEVAL_DEV5, {"hit@1": 0.9, "hit@3": 0.93, "doc_hit@1": 0.95, "abstention": 0.92}, 0.07),
    # dev6: hit@1 0.757 -> 0.829, false abstention 13/70 -> 6/70, declined 44/45 -> 44/45
    (RETRIEVAL_DEV6, {"hit@1": 0.8, "hit@3": 0.92, "doc_hit@1": 0.9, "abstention": 0.93}, 0.12),
    # dev7-dev10 were holdout5-8: last held-out figure -> fitted on (this stop). dev7: hit@1 0.94 -> 0.94,
    # false abstention 0 -> 0, declined 50 -> 49 /50; dev8: 0.95 -> 0.97, 3 -> 1, 48 -> 48; dev9: 0.91 -> 0.94,
    # 4 -> 2, 46 -> 48; dev10: 0.91 -> 0.93, 2 -> 2, 48 -> 50
    (RETRIEVAL_DEV7, {"hit@1": 0.92, "hit@3": 0.97, "doc_hit@1": 0.97, "abstention": 0.94}, 0.02),
    (RETRIEVAL_DEV8, {"hit@1": 0.94, "hit@3": 0.97, "doc_hit@1": 0.96, "abstention": 0.94}, 0.03),
    (RETRIEVAL_DEV9, {"hit@1": 0.92, "hit@3": 0.97, "doc_hit@1": 0.97, "abstention": 0.94}, 0.04),
    (RETRIEVAL_DEV10, {"hit@1": 0.91, "hit@3": 0.97, "doc_hit@1": 0.96, "abstention": 0.96}, 0.04),
], ids=["dev3", "dev4", "dev5", "dev6", "dev7", "dev8", "dev9", "dev10"])
def test_the_earlier_held_out_sets_do_not_regress(searcher: Searcher, path: Path, floor: dict[str, float],
                                                   most_false_abstention: float) -> None:
    m = evaluate(searcher, load_questions(path), threshold=THRESHOLD)["metrics"]
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


def test_the_threshold_rule_declines_96_percent_then_rises_while_false_abstention_stays_within_1_percent() -> None:
    from kb.calibrate import rule_threshold

    y = np.array([0] * 50 + [1] * 100)
    out = np.concatenate([np.linspace(0.0, 0.5, 48), [0.62, 0.9]])   # 48/50 = 96 % lie below 0.55, not below 0.5
    # one in-scope question at 0.52 (1 %: within the budget from 0.55 up), a second at 0.72 (2 % from 0.75)
    assert rule_threshold(np.concatenate([out, [0.52, 0.72], np.full(98, 0.95)]), y) == 0.7
    # five in-scope questions below 0.55: the budget is spent already, the lowest declining step stays
    assert rule_threshold(np.concatenate([out, np.full(5, 0.3), np.full(95, 0.95)]), y) == 0.55
    assert rule_threshold(np.concatenate([np.full(50, 0.99), np.full(100, 0.99)]), y) == 0.95


def test_the_shipped_threshold_is_the_rule_s_for_the_shipped_model() -> None:
    """The default setting and the packaged model's cross-validated rule agree (refit, then update both)."""
    from kb.calibration import PACKAGED

    models = json.loads(PACKAGED.read_text(encoding="utf-8"))
    full = models["e5/kiwi/rrf"]
    assert set(full["features"]) >= {"sentence", "sentence_best", "sentence_margin"}
    assert full["cv"]["cv_rule_threshold"] == Settings().abstain_threshold == full["threshold"]
    assert "first-stage:e5/kiwi/rrf" in models


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
