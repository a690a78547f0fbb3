"""The student's own numbers: built in real Keras 3 and tf-keras, answered first, carried across turns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ingest.index import load_index
from kb.answer import Answerer
from kb.core.settings import Settings

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def answerer(built_index: Settings, verifier: Any) -> Answerer:
    return Answerer(built_index, index=load_index(built_index), verifier=verifier, log=False)


def layer_params(answer: Any, cls: str) -> dict[str, list[int]]:
    assert answer.built is not None and answer.built.source == "question"
    return {r.keras_major: [la.params for m in r.models for la in m.layers if la.cls == cls] for r in answer.built.runs}


def test_layers_without_an_input_are_built_inside_the_entry_snippet(answerer: Answerer) -> None:
    answer = answerer.answer("LSTM(96) 다음에 Dense(24) 두면 Dense 파라미터 몇 개예요?")
    assert "96 × 24 + 24 = **2,328**개" in answer.lead and "Keras 3·2 동일" in answer.lead
    assert {m: p[0] for m, p in layer_params(answer, "Dense").items()} == {"3": 2328, "2": 2328}
    assert any("예제 코드" in n for n in answer.notes)
    assert "LSTM(96)" in answer.built.code and answer.entry == "dense-params-after-bilstm"  # type: ignore[union-attr]
    data = answer.model_dump(mode="json")
    assert {"lead", "notes", "lang", "context"} <= set(data)
    assert data["verifications"][0]["source"] == "question"
    assert data["verifications"][0]["runs"][0]["models"][0]["layers"]


def test_stated_input_builds_a_chain_and_answers_shape_and_params(answerer: Answerer) -> None:
    answer = answerer.answer("입력 (None, 40, 6)에 GRU(12) 쓰면 출력 shape이랑 파라미터는?")
    assert "**720**" in answer.lead and "(None, 12)" in answer.lead
    assert layer_params(answer, "GRU") == {"3": [720], "2": [720]}


def test_an_english_question_gets_an_english_answer(answerer: Answerer) -> None:
    answer = answerer.answer("How many parameters does Dense(24) have after LSTM(96)?")
    assert answer.lang == "en" and "96 × 24 + 24 = **2,328**" in answer.lead and "same in Keras 3 and 2" in answer.lead
    assert answer.entry == "dense-params-after-bilstm"
    assert answer.answer and not any("\uac00" <= ch <= "\ud7a3" for ch in answer.answer)
    # the title and the related-question buttons too
    assert all(not any("\uac00" <= ch <= "\ud7a3" for ch in text) for text in [answer.title, *(h.title for h in answer.hits)])
    assert any("example code" in note and "'Dense(64) after Bidirectional(LSTM(64))" in note for note in answer.notes), \
        answer.notes   # the English title, not the Korean one inside an English sentence


def test_a_layer_without_its_size_gets_one_sentence_in_the_student_s_language(answerer: Answerer) -> None:
    answer = answerer.answer("LSTM(return_sequences=True) 뒤에 Dense(10)을 붙이면 출력 shape이 어떻게 돼요?")
    assert answer.built is None and not answer.lead
    assert answer.notes[0].startswith("질문의 `LSTM(return_sequences=True)`에는 크기(units)가 없어"), answer.notes
    english = answerer.answer("What shape does Dense(10) give after LSTM(return_sequences=True)?")
    assert english.notes[0].startswith("`LSTM(return_sequences=True)` in your question has no size (units)"), english.notes
    assert answer.answered and english.answered


def test_an_unbuildable_description_gets_one_sentence_and_the_answer_still_comes(answerer: Answerer) -> None:
    answer = answerer.answer("LSTM(64) 다음 Dense(10**9) 쓰면 Dense 파라미터 몇 개예요?")
    assert "질문의 `Dense(10**9)`은(는) Dense의 크기 1,000,000,000이(가) 너무 커서 샌드박스에서 만들지 않았습니다." \
        in answer.notes, answer.notes
    assert answer.answered and answer.answer
    english = answerer.answer("How many parameters does MyAttention(64) after LSTM(32) have?")
    assert any(n.startswith("`MyAttention(64)` in your question was not built: MyAttention is not a layer")
               for n in english.notes), english.notes


def test_follow_up_in_a_session_changes_only_what_it_names(built_index: Settings, verifier: Any,
                                                           tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var", entries_dir=built_index.entries_dir)
    a = Answerer(settings, index=load_index(built_index), verifier=verifier)
    first = a.answer("입력 (None, 20, 4)에 LSTM(32) 다음 Dense(10) 쓰면 파라미터는?", session="s1")
    assert layer_params(first, "LSTM") == {"3": [4 * ((4 + 32) * 32 + 32)], "2": [4736]}
    second = a.answer("그럼 GRU로 바꾸면요?", session="s1")
    assert layer_params(second, "GRU") == {"3": [3 * ((4 + 32) * 32 + 2 * 32)], "2": [3648]}
    # the entry shown below still explains the earlier model: the note says so (its numbers differ)
    assert second.notes[0] == ("이전 질문의 모델에서 LSTM → GRU로 바꿔 계산했습니다. "
                               "아래 항목의 설명과 숫자는 바꾸기 전 구성에 대한 것입니다.")
    # the input came with the previous question: no second note saying this one wrote it
    assert first.notes == ["질문에 적힌 입력 (None, 20, 4)에 레이어를 차례로 쌓아 Keras 3와 Keras 2에서 직접 만들어 계산했습니다."]
    assert not any("질문에 적힌 입력" in note for note in second.notes), second.notes
    # only resized: the same layers, so the entry that answered the GRU question still answers (its words
    # alone, with the first question's, once pulled the Dense-after-BiLSTM entry)
    third = a.answer("units를 64로 하면?", session="s1")
    assert layer_params(third, "GRU") == {"3": [3 * ((4 + 64) * 64 + 2 * 64)], "2": [13440]}
    assert second.entry == "gru-vs-lstm" and third.entry == second.entry and third.answered, third.entry
    other = a.answer("그럼 GRU로 바꾸면요?", session="another")      # no earlier turn: nothing to carry
    assert other.built is None and not other.notes


def test_a_length_in_words_before_a_sequence_layer_is_time_steps_with_assumed_features(answerer: Answerer) -> None:
    answer = answerer.answer("Conv1D(32, 3) 다음에 MaxPooling1D(2) 붙이면 길이가 100일 때 출력 shape?")
    assert "(None, 98, 32)" in answer.lead and "(None, 49, 32)" in answer.lead, answer.lead
    assert any("특성 8개" in n for n in answer.notes), answer.notes
    # an input shape the student wrote out is taken as written: a 2-D input is an error for Conv1D
    written = answerer.answer("입력 shape (None, 100)에 Conv1D(32, 3) 쓰면 출력 shape은?")
    assert "ValueError" in written.lead and not any("특성 8개" in n for n in written.notes)
