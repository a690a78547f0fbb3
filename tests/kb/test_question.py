"""Finding code, errors, layers and sizes in a question; follow-ups; the length cap (no Keras here)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from kb.building import chain
from kb.core.errors import QuestionTooLong
from kb.core.settings import PROJECT_ROOT, Settings
from kb.dialogue import Context, resolve
from kb.messages import language
from kb.prose import parse
from kb.question import MAX_QUESTION_CHARS, check_length, extract_code, extract_error


def codes(question: str) -> list[str]:
    return [layer.code() for layer in parse(question).layers]


@pytest.mark.parametrize(("question", "layers", "shape", "batch"), [
    ("LSTM(96) 다음에 Dense(24) 두면 Dense 파라미터 몇 개예요?", ["LSTM(96)", "Dense(24)"], None, None),
    ("Bidirectional(GRU(48)) 파라미터?", ["Bidirectional(GRU(48))"], None, None),
    ("Embedding(8000, 64) → LSTM(32) → Dense(1) 전체", ["Embedding(8000, 64)", "LSTM(32)", "Dense(1)"], None, None),
    ("Conv1D(50, 4)에 dilation_rate=4 주면 길이 100, 특성 8", ["Conv1D(50, 4, dilation_rate=4)"], [100, 8], None),
    ("GRU 24 유닛, 특성 12개, 길이 30이면?", ["GRU(24)"], [30, 12], None),
    ("임베딩 차원 200, 어휘 5000이면?", ["Embedding(5000, 200)"], None, None),
    ("배치 16, 길이 12, 특성 5 입력에 LSTM(32)", ["LSTM(32)"], [12, 5], 16),
    ("sequence length 60 with 7 features into an LSTM with 32 units", ["LSTM(32)"], [60, 7], None),
    ("입력 (None, 15, 4)에 SimpleRNN(3)", ["SimpleRNN(3)"], [15, 4], None),
    ("Dense(128) after LSTM(256)", ["LSTM(256)", "Dense(128)"], None, None),
    ("Dense(1) 앞에 GRU(50) 있으면", ["GRU(50)", "Dense(1)"], None, None),
    ("LSTM(64, input_shape=(10, 3)) 파라미터", ["LSTM(64)"], [10, 3], None),
    # found by trying the CLI: "sequences of length 50" used to lose the length
    ("Output of LSTM(32, return_sequences=True) on sequences of length 50 with 10 features?",
     ["LSTM(32, return_sequences=True)"], [50, 10], None),
    ("GRU(8) on 30-step windows of 5 features", ["GRU(8)"], [30, 5], None),
    # found by trying the CLI: the input's size named as its dimension was not read at all
    ("How many parameters does SimpleRNN(16) have with 4 input features?", ["SimpleRNN(16)"], [None, 4], None),
    ("LSTM 유닛 32개에 입력 차원이 10이면 파라미터가 몇 개인가요?", ["LSTM(32)"], [None, 10], None),
    ("GRU(8) with input dimension 3", ["GRU(8)"], [None, 3], None),
    ("Dense 10개 뉴런에 입력이 20차원이면 가중치 수는요?", ["Dense(10)"], [None, 20], None),
    # found by trying the CLI: "100-dim word vectors" was not read, and an entry's 16 features were used
    ("How many params does Conv1D(32, 5) have on 100-dim word vectors?", ["Conv1D(32, 5)"], [None, 100], None),
    ("300차원 단어 벡터에 LSTM(32) 쓰면 파라미터?", ["LSTM(32)"], [None, 300], None),
    ("50 dimensional embeddings into GRU(8)", ["GRU(8)"], [None, 50], None),
    # found with the independent held-out set: "wrap GRU(32) in Bidirectional" built a bare GRU, and
    # "양방향 GRU(32) 뒤에 Dense(10)" gave the Dense 330 parameters instead of 650
    ("If I wrap GRU(32) in Bidirectional, what output size do I get?", ["Bidirectional(GRU(32))"], None, None),
    ("양방향 GRU(32) 뒤에 Dense(10)", ["Bidirectional(GRU(32))", "Dense(10)"], None, None),
    ("GRU(32)를 Bidirectional로 감싸면 파라미터는?", ["Bidirectional(GRU(32))"], None, None),
    ("Bidirectional로 감싼 GRU(20)의 출력 크기", ["Bidirectional(GRU(20))"], None, None),
    ("LSTM(16) wrapped in a Bidirectional layer", ["Bidirectional(LSTM(16))"], None, None),
    ("a bidirectional LSTM(64) then Dense(64)", ["Bidirectional(LSTM(64))", "Dense(64)"], None, None),
    ("LSTM(32) 다음에 Bidirectional GRU(16)", ["LSTM(32)", "Bidirectional(GRU(16))"], None, None),
    ("양방향 LSTM 대신 GRU(32)를 쓰면", ["GRU(32)"], None, None),
    ("Bidirectional(LSTM(64)) 뒤 Dense(64)", ["Bidirectional(LSTM(64))", "Dense(64)"], None, None),
    # ... but the size of an Embedding's own vectors is its output, not the model's input
    ("Embedding(5000, 300) gives 300-dim embeddings; LSTM(32) after it has how many params?",
     ["Embedding(5000, 300)", "LSTM(32)"], None, None),
    ("길이 40 문장을 Embedding(1000, 100)으로 100차원 단어 벡터로 만들면?", ["Embedding(1000, 100)"], [40], None),
])
def test_prose_is_parsed(question: str, layers: list[str], shape: list[int] | None, batch: int | None) -> None:
    spec = parse(question)
    assert codes(question) == layers
    assert spec.input_shape == shape and spec.batch == batch


@pytest.mark.parametrize(("question", "built", "assumed"), [
    ("Dense 10개 뉴런에 입력이 20차원이면 가중치 수는요?", [20], False),       # a vector, not a sequence
    ("Conv1D(32, 3) 다음 MaxPooling1D(2), 길이가 100일 때", [100, 8], True),  # time steps, features assumed
    ("입력 shape (None, 100)에 Conv1D(32, 3)", [100], False),               # written out: taken as written
    ("LSTM(4) 입력 특성 3개", [None, 3], False),
])
def test_the_input_built_for_words(question: str, built: list[int | None], assumed: bool) -> None:
    plan = chain(parse(question))
    assert plan.input_shape == built and plan.assumed_features == assumed


@pytest.mark.parametrize(("question", "reason", "detail"), [
    ("Dense(10**9) 파라미터?", "too_large", {"layer": "Dense", "size": "1,000,000,000"}),
    ("Dense(10**100) 파라미터?", "too_large", {"layer": "Dense", "size": "10 ** 100"}),
    ("MyLayer(10) 다음 Dense(5)", "unknown_layer", {"layer": "MyLayer"}),
    ("LSTM(0) 파라미터", "not_positive", {"layer": "LSTM", "size": "0"}),
    ("Bidirectional() 출력", "no_inner", {"layer": "Bidirectional"}),
    ("Dense(units=n) 파라미터", "unsupported", {"text": "n"}),
])
def test_unbuildable_descriptions_are_named(question: str, reason: str, detail: dict[str, str]) -> None:
    spec = parse(question)
    assert [(p.reason, p.detail) for p in spec.problems] == [(reason, detail)], spec.problems


@pytest.mark.parametrize(("question", "missing"), [
    ("LSTM(return_sequences=True) 뒤에 Dense(10)을 붙이면 출력 shape이 어떻게 돼요?", {"layer": "LSTM", "sizes": "units"}),
    ("Dense() after a GRU(8)?", {"layer": "Dense", "sizes": "units"}),
    ("Conv1D(64) 다음 GlobalMaxPooling1D()", {"layer": "Conv1D", "sizes": "kernel_size"}),
    ("Embedding(output_dim=16) 파라미터", {"layer": "Embedding", "sizes": "input_dim"}),
    ("Conv1D() 파라미터", {"layer": "Conv1D", "sizes": "filters, kernel_size"}),
])
def test_a_layer_written_without_its_size_is_named_and_nothing_is_built(question: str, missing: dict[str, str]) -> None:
    """A layer call without its size describes a pattern, not a model: building the rest of the chain
    (or the call, which raises a TypeError) would show numbers for another model."""
    spec = parse(question)
    assert spec.layers == [] and [(p.reason, p.detail) for p in spec.problems] == [("unsized", missing)], spec


def test_sizes_given_by_keyword_count() -> None:
    spec = parse("Embedding(input_dim=1000, output_dim=16) 다음 Conv1D(filters=8, kernel_size=3)")
    assert [layer.cls for layer in spec.layers] == ["Embedding", "Conv1D"] and not spec.problems


@pytest.mark.parametrize(("follow", "changes", "layers"), [
    ("그럼 GRU로 바꾸면요?", ["LSTM → GRU"], ["GRU(96)", "Dense(24)"]),
    ("units를 절반으로 하면?", ["LSTM units 96 → 48"], ["LSTM(48)", "Dense(24)"]),
    ("what about bidirectional?", ["LSTM(96) → Bidirectional(LSTM(96))"], ["Bidirectional(LSTM(96))", "Dense(24)"]),
    ("return_sequences=True로 하면?", ["LSTM return_sequences=True"], ["LSTM(96, return_sequences=True)", "Dense(24)"]),
    ("Dense(48)로 하면?", ["Dense(24) → Dense(48)"], ["LSTM(96)", "Dense(48)"]),
])
def test_follow_up_changes_only_what_it_names(follow: str, changes: list[str], layers: list[str]) -> None:
    first = "LSTM(96) 다음에 Dense(24) 두면 Dense 파라미터 몇 개예요?"
    r = resolve(follow, parse(follow), Context(question=first, spec=parse(first)))
    assert r.follow_up and r.changes == changes
    assert [la.code() for la in r.spec.layers] == layers
    assert first in r.query


@pytest.mark.parametrize("question", [
    "dropout이랑 recurrent_dropout 차이가 뭔가요?",
    "입력 (None, 25, 1)에 SimpleRNN(10) 쓰면 출력 shape은?",
    "Conv1D를 RNN 앞에 쓰는 이유가 뭐예요? 긴 시퀀스에서요",
])
def test_a_question_that_stands_alone_is_not_dragged(question: str) -> None:
    first = "LSTM(64) 뒤 Dense(64) 파라미터 수"
    r = resolve(question, parse(question), Context(question=first, spec=parse(first)))
    assert not r.follow_up and r.query == question and not r.changes


def test_language() -> None:
    assert language("How many parameters?") == "en" and language("파라미터 몇 개?") == "ko"
    assert language("LSTM(64) 파라미터") == "ko"


def test_code_detection_splits_at_parser_errors() -> None:
    question = ("I wrote this:\nmodel = Sequential([\n    LSTM(64, input_shape=(10, 3)),\n    Dense(1)\n])\n"
                "Why does it fail?\nValueError: bad")
    code, rest = extract_code(question)
    assert code == "model = Sequential([\n    LSTM(64, input_shape=(10, 3)),\n    Dense(1)\n])"
    assert rest.startswith("I wrote this:") and "ValueError" in rest
    noise = "\n".join(f"value_{i} = compute_{i}(alpha) + {i}" for i in range(400))
    assert extract_code(noise + "\n왜 느려요?")[0] is None


def test_a_question_past_the_cap_is_one_sentence() -> None:
    check_length("x" * MAX_QUESTION_CHARS)
    with pytest.raises(QuestionTooLong) as caught:
        check_length("x" * (MAX_QUESTION_CHARS + 1))
    assert str(caught.value).count(". ") == 0 and "20,000" in str(caught.value)
    out = subprocess.run([sys.executable, "-m", "kb", "ask", "-"], input="LSTM " * 5000, capture_output=True,
                         text=True, cwd=PROJECT_ROOT, timeout=120)
    assert out.returncode == 2 and out.stdout == ""
    assert "20,000" in out.stderr and "Traceback" not in out.stderr and out.stderr.count("\n") == 1


def test_chat_carries_the_previous_turn_until_new(built_index: Settings) -> None:
    env = {**os.environ, "COURSEBOT_DATA_DIR": str(built_index.data_dir),
           "COURSEBOT_ENTRIES_DIR": str(built_index.entries_dir)}
    turns = "입력 (None, 20, 4)에 LSTM(32) 파라미터?\n그럼 GRU로 바꾸면요?\n/new\n그럼 GRU로 바꾸면요?\n"
    out = subprocess.run([sys.executable, "-m", "kb", "chat", "--no-verify"], input=turns, capture_output=True,
                         text=True, cwd=PROJECT_ROOT, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("이전 질문의 모델에서 LSTM → GRU로 바꿔 계산했습니다.") == 1
    assert "새 대화를 시작합니다." in out.stdout and "Traceback" not in out.stderr


@pytest.mark.parametrize("question", [
    "LSTM(" + "9" * 5000 + ")", "배치 " + "1" * 9000, "units " + "5" * 9000 + " 유닛", "(" * 7500,
    "Dense(" * 3000 + "1" + ")" * 3000, "1," * 9000, "(" + "1," * 5000 + ")",
])
def test_hostile_text_never_raises(question: str) -> None:
    first = "LSTM(8) 다음 Dense(2)"
    extract_code(question)
    extract_error(question)
    resolve(question, parse(question), Context(question=first, spec=parse(first)))


@pytest.mark.parametrize(("text", "particle"), [
    ("units 32 → 16", "으로"), ("GRU(32)", "로"), ("LSTM", "으로"), ("Bidirectional(LSTM(32))", "로"),
    ("양방향", "으로"), ("모델", "로"), ("길이 10", "으로"), ("Dense(128)", "로"), ("GRU", "로"),
])
def test_the_particle_ro_follows_the_korean_reading(text: str, particle: str) -> None:
    from kb.messages import particle_ro

    assert particle_ro(text) == particle


def test_an_option_inside_one_call_stays_with_that_call() -> None:
    """Found by trying the CLI: the second GRU was built with the first one's return_sequences=True."""
    inside = parse("Embedding(5000, 64) 다음 GRU(32, return_sequences=True) 그리고 GRU(16) 쌓으면 전체 파라미터 몇 개?")
    assert [layer.core.kwargs for layer in inside.layers] == [{}, {"return_sequences": True}, {}]
    outside = parse("LSTM(32) 다음 LSTM(16), return_sequences=True로 하면?")   # written outside: every RNN
    assert [layer.core.kwargs for layer in outside.layers] == [{"return_sequences": True}] * 2
