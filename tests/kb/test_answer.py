"""Answers from the real index and the real verifier (Keras 3 and tf-keras in the sandbox)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from typing import Any

import pytest

from ingest.index import load_index
from kb.answer import Answerer, extract_code, extract_error
from kb.core.settings import PROJECT_ROOT, Settings
from kb.qlog import QuestionLog

pytestmark = pytest.mark.sandbox

IMDB = """model = Sequential()
model.add(Embedding(10001, 64))
model.add(Bidirectional(LSTM(64)))
model.add(Dense(64, activation='relu'))
model.add(Dense(1, activation='sigmoid'))"""

CONV_4D = """```python
from tensorflow.keras.layers import Input, Conv1D
dropout = Input(shape=(None, 15, 30))
out = Conv1D(kernel_size=3, filters=30, padding='same', activation='tanh')(dropout)
```
이거 왜 에러 나요?"""


@pytest.fixture(scope="module")
def answerer(built_index: Settings, verifier: Any) -> Answerer:
    return Answerer(built_index, index=load_index(built_index), verifier=verifier)


def by_name(answer: Any) -> dict[str, Any]:
    return {v.snippet: v for v in answer.verifications}


def test_param_question_answers_from_the_param_entry_with_verified_numbers(answerer: Answerer) -> None:
    answer = answerer.answer("LSTM(64) 뒤 Dense(64) 파라미터 수")
    assert answer.answered and answer.entry == "dense-params-after-bilstm"
    assert answer.sources and all(s.endswith(".txt") for s in answer.sources)
    runs = by_name(answer)
    for major in ("3", "2"):
        plain = next(r for r in runs["imdb-plain-lstm"].runs if r.keras_major == major)
        bi = next(r for r in runs["imdb-bilstm"].runs if r.keras_major == major)
        assert plain.models[0].layers[2].params == 4160
        assert bi.models[0].layers[2].params == 8256
    checks = {(c.text, c.keras): c for v in answer.verifications for c in v.claims}
    assert checks[("8,256", "3")].ok and checks[("8,256", "3")].actual == 8256
    assert checks[("4,160", "2")].ok


def test_pasted_imdb_model_is_built_and_reported(answerer: Answerer) -> None:
    question = IMDB + "\n이 모델 summary 파라미터가 왜 이렇게 나와요?"
    answer = answerer.answer(question)
    assert answer.pasted is not None and answer.pasted.ok
    assert {r.keras_major: r.models[-1].total_params for r in answer.pasted.runs} == {"3": 714433, "2": 714433}
    assert answer.entry in ("dense-params-after-bilstm", "bidirectional-doubles")
    # code that runs is searched as asked, which is what `coursebot eval` measures (a query rebuilt from
    # the prose and the code's class names once got 0.37 here, and no answer, where the search gives 0.95)
    searched = answerer.searcher.search(question, threshold=answerer.settings.abstain_threshold)
    assert answer.confidence == pytest.approx(searched.confidence) and answer.entry == searched.hits[0].id


def test_pasted_conv1d_on_4d_shows_both_versions_and_the_timedistributed_entry(answerer: Answerer) -> None:
    answer = answerer.answer(CONV_4D)
    pasted = answer.pasted
    assert pasted is not None
    k3 = next(r for r in pasted.runs if r.keras_major == "3")
    k2 = next(r for r in pasted.runs if r.keras_major == "2")
    assert k3.error is not None and k3.error.type == "ValueError" and k3.error.line == 3
    assert k2.ok
    assert "TimeDistributed" in pasted.explanation
    assert answer.entry == "conv1d-4d-char-embedding"


def test_pasted_fragment_without_imports_gets_them(answerer: Answerer) -> None:
    answer = answerer.answer("x = Input(shape=(None, 15, 30))\ny = Conv1D(30, 3)(x)\n에러남")
    assert answer.pasted is not None
    k3 = next(r for r in answer.pasted.runs if r.keras_major == "3")
    assert k3.error is not None and k3.error.line == 2  # the student's line, not the prelude's


def test_bidirectional_keyword_error_finds_where_return_sequences_belongs(answerer: Answerer) -> None:
    answer = answerer.answer("model.add(Bidirectional(LSTM(64), return_sequences=False))\n"
                             "model = Sequential()\n이렇게 하면 왜 안 돼요?")
    # That snippet uses `model` before defining it: the student sees the NameError explained.
    assert answer.pasted is not None and not answer.pasted.ok
    answer = answerer.answer("TypeError: Unrecognized keyword arguments passed to Bidirectional: "
                             "{'return_sequences': False}")
    assert answer.entry == "bidirectional-return-sequences-argument"


@pytest.mark.parametrize("line", [
    "ValueError: Input 0 is incompatible with layer conv1d_2: expected ndim=3, found ndim=4",
    "ValueError: Kernel shape must have the same length as input, but received kernel of shape "
    "(3, 30, 30) and input of shape (None, None, 15, 30).",
])
def test_pasted_error_line_finds_the_explaining_entry(answerer: Answerer, line: str) -> None:
    answer = answerer.answer(line)
    assert answer.pasted is None and answer.error_text is not None
    assert answer.entry == "conv1d-4d-char-embedding"


def test_out_of_scope_is_not_answered(answerer: Answerer) -> None:
    answer = answerer.answer("다음 주 과제 제출 마감이 언제예요?")
    assert not answer.answered and answer.entry is None and answer.verifications == []
    assert "Keras" in answer.answer


def test_rejected_snippet_is_explained_in_one_sentence(answerer: Answerer) -> None:
    answer = answerer.answer("import os\nmodel = Sequential([Dense(1)])\nos.system('ls')")
    assert answer.pasted is not None and answer.pasted.runs[0].rejected is not None
    assert answer.pasted.explanation.count("\n") == 0 and "os" in answer.pasted.explanation


def test_every_question_is_logged_without_personal_data(built_index: Settings, verifier: Any,
                                                         tmp_path: Any) -> None:
    settings = Settings(data_dir=tmp_path / "var", entries_dir=built_index.entries_dir)
    answerer = Answerer(settings, index=load_index(built_index), verifier=verifier)
    a = answerer.answer("return_sequences 차이? 답 메일은 student.kim@example.com 으로", verify=False)
    b = answerer.answer("김치찌개 끓이는 법", verify=False)
    with sqlite3.connect(settings.log_path) as db:
        rows = db.execute("SELECT id, question, answered, entry_id FROM questions ORDER BY id").fetchall()
    assert [(r[0], r[2], r[3]) for r in rows] == [(a.log_id, 1, a.entry), (b.log_id, 0, None)]
    assert "@" not in rows[0][1]
    log = QuestionLog(settings.log_path)
    log.feedback(a.log_id or 0, 0)
    pending = log.pending()
    assert {p.reason for p in pending} == {"unanswered", "disliked"}


def test_code_and_error_extraction() -> None:
    code, rest = extract_code("질문입니다\n```\nmodel = Sequential([Dense(1)])\n```\n끝")
    assert code == "model = Sequential([Dense(1)])" and "질문" in rest
    assert extract_code("LSTM(64) 뒤 Dense(64) 파라미터 수")[0] is None
    assert extract_code("Bidirectional(LSTM(64), return_sequences=False) 했더니 에러가 나요")[0] is None
    code, rest = extract_code("이거 왜요\nx = Input(shape=(10,))\ny = Dense(3)(x)\n알려주세요")
    assert code == "x = Input(shape=(10,))\ny = Dense(3)(x)" and rest == "이거 왜요\n알려주세요"
    assert extract_error("Traceback...\nValueError: bad shape") == "ValueError: bad shape"
    assert extract_error("LSTM 질문") is None


def run_cli(*args: str, data_dir: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COURSEBOT_DATA_DIR": data_dir}
    return subprocess.run([sys.executable, "-m", "kb", *args], capture_output=True, text=True, env=env,
                          cwd=PROJECT_ROOT, timeout=300)


def test_ask_json_is_exactly_one_object(built_index: Settings) -> None:
    out = run_cli("ask", "return_sequences True False 차이", "--json", "--no-verify", "--k", "2",
                  data_dir=str(built_index.data_dir))
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)  # one object, nothing else on stdout
    assert {"question", "answered", "confidence", "hits", "verifications", "took_ms"} <= set(data)
    assert len(data["hits"]) == 2 and data["hits"][0]["id"] == "return-sequences"
    assert {"id", "title", "score", "sources", "answer"} <= set(data["hits"][0])


@pytest.mark.parametrize(("args", "words"), [
    (["ask", "   "], "empty"),
    (["ask", "질문", "--k", "0"], "--k"),
])
def test_ask_errors_are_one_sentence(built_index: Settings, args: list[str], words: str) -> None:
    out = run_cli(*args, data_dir=str(built_index.data_dir))
    assert out.returncode != 0 and out.stdout == ""
    assert words in out.stderr and out.stderr.count("\n") == 1 and "Traceback" not in out.stderr


def test_entries_are_parsed_once_and_again_only_when_their_file_changes(
        built_index: Settings, verifier: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses
    import shutil

    import kb.core.store as store

    entries = tmp_path / "entries"
    shutil.copytree(built_index.entries_dir, entries)
    settings = dataclasses.replace(built_index, entries_dir=entries)
    answerer = Answerer(settings, index=load_index(settings), verifier=verifier, log=False)
    loads: list[str] = []
    real = store.load_entry
    monkeypatch.setattr(store, "load_entry", lambda path: loads.append(path.name) or real(path))
    question = "TimeDistributed 레이어는 무슨 일을 하나요?"
    first = answerer.answer(question, verify=False)
    assert first.model_dump(mode="json")["entry"] == "timedistributed-role" and loads
    loads.clear()
    answerer.answer(question, verify=False)
    assert loads == []                                   # the second answer parses no YAML
    path = entries / "timedistributed-role.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "answer: |\n", "answer: |\n  (수정된 답변)\n", 1), encoding="utf-8")
    assert answerer.answer(question, verify=False).model_dump(mode="json")["answer"].startswith("(수정된 답변)")
    assert loads == ["timedistributed-role.yaml"]        # only the changed file is parsed again


def test_the_terminal_answer_speaks_the_question_language(answerer: Answerer) -> None:
    from rich.console import Console

    from kb.render import print_answer

    def rendered(question: str) -> str:
        console = Console(record=True, width=120)
        print_answer(answerer.answer(question), console)
        return console.export_text()

    korean = rendered("bidirectional LSTM 다음 Dense 파라미터가 몇 개예요?")
    assert "전체 파라미터 714,433개" in korean and "확신도" in korean and "Keras 3: 8,256 · Keras 2: 8,256" in korean
    for english in ("total params", "confidence", "built by coursebot", "cached)", "params\n"):
        assert english not in korean, english
    assert "total params 714,433" in rendered("How many parameters does the Dense layer after a Bidirectional LSTM have?")
