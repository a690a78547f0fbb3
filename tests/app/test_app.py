"""The Streamlit app, driven with AppTest against the real index and the real verifier."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from kb.core.settings import PROJECT_ROOT, Settings
from tests.conftest import ENTRIES_DIR
from ui import messages

pytestmark = pytest.mark.sandbox
PASSWORD = "open-sesame"

CONV_4D = ("from tensorflow.keras.layers import Input, Conv1D\n"
           "x = Input(shape=(None, 15, 30))\ny = Conv1D(30, 3, padding='same')(x)\n")

NEW_ENTRY = """id: gru-32-params
title: GRU(32)의 파라미터 수 (reset_after 기본값)
lang: ko
tags: [GRU, parameters, reset_after]
question: 입력 특성 8개에 GRU(32)를 쓰면 파라미터가 몇 개인가요?
paraphrases:
  - GRU 32유닛 8특성 파라미터 개수 계산
answer: |
  Keras의 GRU는 기본값 `reset_after=True`라서 편향이 두 벌이고, 3·(8·32 + 32·32 + 2·32) = 4,032개입니다.
verify:
  - name: gru32
    code: |
      from tensorflow.keras.layers import Input, GRU
      from tensorflow.keras.models import Model
      x = Input(shape=(None, 8))
      model = Model(x, GRU(32)(x))
    expect:
      total_params: 4032
claims:
  - {text: "4,032", snippet: gru32, what: total_params}
"""


@pytest.fixture
def app_env(built_index: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """A private copy of the built index and of the entries, and a fresh st.cache_resource."""
    data, entries = tmp_path / "var", tmp_path / "entries"
    shutil.copytree(built_index.data_dir, data)
    shutil.copytree(ENTRIES_DIR, entries)
    monkeypatch.setenv("COURSEBOT_DATA_DIR", str(data))
    monkeypatch.setenv("COURSEBOT_ENTRIES_DIR", str(entries))
    monkeypatch.setenv("COURSEBOT_INSTRUCTOR_PASSWORD", PASSWORD)
    st.cache_resource.clear()
    yield Settings(data_dir=data, entries_dir=entries)
    _stop_workers()


def _stop_workers() -> None:
    """The cached answerer's Keras workers (and a warm-up still starting them) stop before the next test."""
    from verifiers import close_default

    close_default()
    st.cache_resource.clear()


def start(page: str | None = None) -> AppTest:
    from ui.common import loader_for

    assert loader_for(Settings.from_env()).wait() is None   # the chat input opens once loaded
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=180)
    at.run()
    if page:
        at.switch_page(page)
        at.run()
    assert not at.exception, at.exception
    return at


def instructor(at: AppTest | None = None) -> AppTest:
    """The instructor page, unlocked with the passphrase."""
    at = at or start()
    at.switch_page("ui/instructor.py").run()
    at.text_input(key="password").input(PASSWORD).run()
    assert not at.exception, at.exception
    return at


def all_text(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [e.value for e in at.error]
    parts += [s.value for s in at.success] + [w.value for w in at.warning] + [i.value for i in at.info]
    return "\n".join(str(p) for p in parts)


def test_question_gets_an_answer_with_readable_sources_tables_and_related_buttons(app_env: Settings) -> None:
    at = start()
    assert [b.label for b in at.button if b.key.startswith("example-")] == list(messages.EXAMPLES)
    at.chat_input[0].set_value("LSTM(64) 뒤 Dense(64) 파라미터 수").run()
    assert not at.exception, at.exception
    text = all_text(at)
    assert "8,256" in text and "강의 Q&A 게시판 · IMDB 감성 분석 실습 모델 질문" in text
    assert ".txt" not in text and "확신도" not in text and " ms" not in text   # no file names, no internals
    assert any(e.label.startswith("검증: imdb-bilstm") for e in at.expander)
    layer_tables = [t.value for t in at.table if messages.COL_PARAMS in t.value.columns]
    assert any("8,256" in list(t[messages.COL_PARAMS]) for t in layer_tables)
    assert any("4,160" in list(t[messages.COL_PARAMS]) for t in layer_tables)
    assert "✓ 답변의 **8,256** — 실제 값 Keras 3: 8,256 · Keras 2: 8,256" in text
    assert messages.NO_DIFFERENCE in text
    assert not any(b.key.startswith("example-") for b in at.button)
    related = [b for b in at.button if b.key.startswith("related-0-")]
    assert related
    asked = related[0].label
    related[0].click().run()
    assert not at.exception, at.exception
    assert at.chat_message[2].markdown[0].value == asked    # the related entry was asked


def test_an_english_question_gets_its_tables_checks_and_sources_in_english(app_env: Settings) -> None:
    """The page stays Korean; the chrome around an answer to an English question does not."""
    at = start()
    at.chat_input[0].set_value("How many parameters does Dense(64) after Bidirectional(LSTM(64)) have?").run()
    assert not at.exception, at.exception
    text = all_text(at)
    assert "**Sources**" in text and "**Related questions**" in text and "출처" not in text
    assert "✓ **8,256** in the answer — actual value Keras 3: 8,256 · Keras 2: 8,256" in text, text
    assert "Keras 3 and Keras 2: no difference" in text and messages.NO_DIFFERENCE not in text
    assert any(e.label.startswith("Checked: imdb-bilstm") for e in at.expander)
    assert any("8,256" in list(t.value["Params"]) for t in at.table if "Params" in t.value.columns)
    assert not any(messages.COL_PARAMS in t.value.columns for t in at.table)


def test_out_of_scope_question_shows_the_not_covered_message(app_env: Settings) -> None:
    at = start()
    at.chat_input[0].set_value("주말에 볼 만한 영화 추천해줘").run()
    assert not at.exception
    assert any("찾지 못했습니다" in i.value for i in at.info)
    assert not at.expander


def test_a_near_miss_names_its_uncovered_topic_and_offers_no_unrelated_buttons(app_env: Settings) -> None:
    at = start()
    at.chat_input[0].set_value("학습 끝난 모델을 .keras 파일로 저장했다가 다시 불러오려면 어떻게 해요?").run()
    assert not at.exception
    assert any(i.value.startswith("이 질문은 **모델 저장과 불러오기** 주제로 보이는데") for i in at.info)
    assert not [b for b in at.button if b.key.startswith("related-")]   # nothing close enough to suggest


def test_feedback_is_stored_with_question_answer_and_time(app_env: Settings) -> None:
    at = start()
    at.chat_input[0].set_value("return_sequences True False 차이").run()
    at.feedback[0].set_value(0).run()
    assert not at.exception
    with sqlite3.connect(app_env.log_path) as db:
        rows = db.execute("SELECT q.question, f.score, f.entry_id, f.given_at FROM feedback f "
                          "JOIN questions q ON q.id = f.question_id").fetchall()
    assert len(rows) == 1
    question, score, entry_id, given_at = rows[0]
    assert question == "return_sequences True False 차이" and score == 0
    assert entry_id == "return-sequences" and given_at > 0


def test_pasted_code_is_run_and_both_versions_shown(app_env: Settings) -> None:
    at = start()
    at.chat_input[0].set_value(CONV_4D + "이거 왜 에러?").run()
    assert not at.exception
    text = all_text(at)
    assert "Kernel shape" in text and "TimeDistributed" in text
    assert any(e.label == "붙여 넣은 코드 실행 결과" for e in at.expander)


def test_instructor_previews_saves_and_the_new_entry_answers(app_env: Settings) -> None:
    at = instructor()
    at.text_area(key="entry_yaml").input(NEW_ENTRY)
    at.button(key="preview").click().run()
    assert not at.exception
    assert any("저장할 수 있습니다" in s.value for s in at.success), all_text(at)
    assert not (app_env.entries_dir / "gru-32-params.yaml").exists()  # preview writes nothing
    at.button(key="save").click().run()
    assert any("저장했고" in s.value for s in at.success), all_text(at)
    assert (app_env.entries_dir / "gru-32-params.yaml").exists()
    at.text_input(key="probe").input("GRU 32유닛에 특성 8개면 파라미터 몇 개?").run()
    assert any("gru-32-params" in s.value for s in at.success), all_text(at)


def test_instructor_sees_a_wrong_number_and_nothing_is_saved(app_env: Settings) -> None:
    at = instructor()
    at.text_area(key="entry_yaml").input(NEW_ENTRY.replace("4,032", "3,936"))
    at.button(key="save").click().run()
    assert any("저장하지 않았습니다" in e.value and "got 4,032" in e.value for e in at.error), all_text(at)
    assert not (app_env.entries_dir / "gru-32-params.yaml").exists()


def test_instructor_page_lists_unanswered_questions(app_env: Settings) -> None:
    at = start()
    at.chat_input[0].set_value("김치찌개 끓이는 법").run()
    at.chat_input[0].set_value("김치찌개 끓이는 법").run()
    instructor(at)
    frames = [d.value for d in at.dataframe]
    assert frames and frames[0]["질문"].tolist()[0] == "김치찌개 끓이는 법"
    assert frames[0]["횟수"].tolist()[0] == 2


def test_instructor_page_is_locked_without_a_password(app_env: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COURSEBOT_INSTRUCTOR_PASSWORD")
    at = start("ui/instructor.py")
    assert [i.value for i in at.info] == [messages.INSTRUCTOR_UNSET]
    assert not at.text_area and not at.text_input and not at.dataframe and not at.tabs


def test_instructor_password_gates_the_page(app_env: Settings) -> None:
    at = start("ui/instructor.py")
    assert not at.text_area and len(at.text_input) == 1 and not at.tabs
    at.text_input[0].input("wrong").run()
    assert any(messages.INSTRUCTOR_WRONG in e.value for e in at.error)
    at.text_input[0].input(PASSWORD).run()
    assert at.text_area(key="entry_yaml")


def test_snippet_verification_page(app_env: Settings) -> None:
    at = start("ui/verify.py")
    at.text_area(key="code").input(CONV_4D)
    at.button[0].click().run()
    assert not at.exception
    assert any("Kernel shape" in e.value for e in at.error)
    assert any("버전 차이" in w.value for w in at.warning)


def test_a_snippet_s_error_message_is_shown_as_code_not_markdown(app_env: Settings) -> None:
    at = start("ui/verify.py")
    at.text_area(key="code").input('raise TypeError("*missing* units ![x](http://example.invalid/t.png)")')
    at.button[0].click().run()
    assert not at.exception
    shown = [e.value for e in at.error if "missing" in e.value]
    assert len(shown) == 2 and all("`*missing* units ![x](http://example.invalid/t.png)`" in v for v in shown), shown


def test_yaml_mode_refuses_an_unchecked_number_in_one_sentence(app_env: Settings) -> None:
    at = instructor()
    at.text_area(key="entry_yaml").input(NEW_ENTRY.replace("= 4,032개입니다.", "= 4,032개입니다. 총 9,999개의 파라미터."))
    at.button(key="save").click().run()
    errors = [e.value for e in at.error if "저장하지 않았습니다" in e.value]
    assert len(errors) == 1 and "9,999" in errors[0] and "\n" not in errors[0], all_text(at)
    assert not (app_env.entries_dir / "gru-32-params.yaml").exists()


LSTM32 = ("from tensorflow.keras.layers import Input, LSTM\nfrom tensorflow.keras.models import Model\n"
          "x = Input(shape=(None, 1))\nmodel = Model(x, LSTM(32)(x))\n")


def test_form_ties_each_number_to_a_layer_with_the_real_value_and_refuses_an_unchecked_one(
        app_env: Settings) -> None:
    from ui.entry_form import TOTAL, UNCHECKED

    at = instructor()
    at.radio(key="mode").set_value(messages.MODE_FORM).run()
    at.text_input(key="f_id").input("lstm-32-one-feature")
    at.text_input(key="f_title").input("LSTM(32)의 파라미터 수")
    at.text_input(key="f_question").input("특성 1개에 LSTM(32)면 파라미터가 몇 개?")
    at.text_area(key="f_answer").input("4·(1·32 + 32·32 + 32) = 4,352개입니다. 어떤 책은 9,999개라고 합니다.")
    at.text_area(key="f_code").input(LSTM32).run()
    at.button(key="f_run").click().run()
    assert not at.exception, at.exception
    first, second = at.selectbox(key="tie-0-4,352"), at.selectbox(key="tie-1-9,999")
    assert first.value == TOTAL and "✓ 실제 값 (Keras 3): **4,352**" in all_text(at)
    assert any(o.startswith("레이어 ") and "(LSTM)" in o for o in first.options)
    second.set_value(UNCHECKED).run()
    at.button(key="save").click().run()
    errors = [e.value for e in at.error if "저장하지 않았습니다" in e.value]
    assert len(errors) == 1 and "9,999" in errors[0], all_text(at)
    assert not (app_env.entries_dir / "lstm-32-one-feature.yaml").exists()
    at.text_input(key="reason-1-9,999").input("다른 책의 틀린 값을 인용한 것입니다").run()
    at.button(key="save").click().run()
    assert any("저장했고" in s.value for s in at.success), all_text(at)
    saved = (app_env.entries_dir / "lstm-32-one-feature.yaml").read_text(encoding="utf-8")
    assert "total_params" in saved and "unchecked" in saved


def test_a_gap_group_becomes_an_entry_that_answers(app_env: Settings) -> None:
    at = start()
    for q in ("파이토치로 LSTM 만드는 법", "PyTorch에서 LSTM 구현 방법"):
        at.chat_input[0].set_value(q).run()
    instructor(at)
    at.text_input(key="probe").input("파이토치 LSTM 예제").run()            # not a student question
    assert any("2번 물음" in m.value for m in at.markdown), all_text(at)   # the probe is not counted
    at.button(key="draft-0").click().run()
    draft = at.text_area(key="entry_yaml").value
    assert "파이토치로 LSTM 만드는 법" in draft and "PyTorch에서 LSTM 구현 방법" in draft
    at.text_area(key="entry_yaml").input(draft.replace(
        "TODO: 강사가 답을 씁니다. 숫자를 적으면 claims로 스니펫과 묶으세요.",
        "이 강의는 Keras를 씁니다. PyTorch의 nn.LSTM은 다루지 않으니 Keras의 LSTM 레이어로 실습하세요."))
    at.button(key="save").click().run()
    assert any("저장했고" in s.value for s in at.success), all_text(at)
    at.text_input(key="probe").input("PyTorch로 LSTM 구현하려면?").run()
    assert any("답한 항목" in s.value and "gap-" in s.value for s in at.success), all_text(at)


def test_history_survives_a_refresh_and_a_cut_off_question_is_kept(app_env: Settings) -> None:
    from kb.qlog import QuestionLog

    log = QuestionLog(app_env.log_url)
    answer = {"answered": False, "answer": "없는 내용입니다", "verifications": [], "hits": [], "entry": None,
              "sources": [], "citations": [], "confidence": 0.1, "took_ms": 5, "title": ""}
    log.record("첫 질문", answered=False, entry_id=None, confidence=0.1, session="s-refresh", answer=answer)
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=180)
    at.query_params["s"] = "s-refresh"
    at.run()                                        # a refresh: a new browser session, same URL
    assert not at.exception, at.exception
    assert at.chat_message[0].markdown[0].value == "첫 질문"
    assert any("없는 내용입니다" in i.value for i in at.info)
    # A question whose run was cut off: logged meanwhile -> shown with its answer; never logged -> the note.
    log.record("둘째 질문", answered=False, entry_id=None, confidence=0.1, session="s-refresh",
               answer={**answer, "answer": "둘째 답"})
    at.session_state["history"] = [*at.session_state["history"],
                                   {"question": "둘째 질문", "answer": None, "log_id": None},
                                   {"question": "셋째 질문", "answer": None, "log_id": None}]
    at.run()
    assert any("둘째 답" in i.value for i in at.info)
    assert [w.value for w in at.warning] == [messages.INTERRUPTED]
    at.button(key="new_chat").click().run()
    assert not at.chat_message and at.query_params["s"] != "s-refresh"


def test_a_syntax_error_is_explained_as_one_not_as_a_safety_refusal(app_env: Settings) -> None:
    at = start()
    at.chat_input[0].set_value("```python\nfrom tensorflow.keras.layers import LSTM\nx = LSTM(32\n```\n왜 안 돼요?").run()
    assert not at.exception, at.exception
    text = all_text(at)
    assert "파이썬 문법 오류" in text and "안전 정책" not in text, text


def test_a_safety_refusal_is_worded_in_korean(app_env: Settings) -> None:
    at = start()
    at.chat_input[0].set_value("```python\nimport subprocess\nsubprocess.run(['id'])\n```\n이거 돼요?").run()
    assert not at.exception, at.exception
    text = all_text(at)
    assert "안전 정책" in text and "tensorflow, keras, numpy, math만 import할 수 있습니다" in text, text
    assert "may be imported" not in text


def test_until_loaded_the_chat_shows_progress_and_takes_no_question(app_env: Settings,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from ui import common

    gate = threading.Event()

    class HeldLoader(common.Loader):   # the real loader, held back until the test lets it go
        def _load(self) -> None:
            gate.wait(120)
            super()._load()

    settings = Settings.from_env()
    loader = HeldLoader(settings)
    monkeypatch.setitem(common._LOADERS, settings, loader)
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=180).run()
    assert not at.exception, at.exception
    assert at.chat_input[0].disabled and any(messages.LOADING_INDEX in i.value for i in at.info)
    assert all(b.disabled for b in at.button if b.key.startswith("example-"))
    gate.set()
    assert loader.wait() is None
    at.run()
    assert not at.chat_input[0].disabled and not at.info   # loaded: no notice, no timer, input open
    at.chat_input[0].set_value("LSTM(64) 뒤 Dense(64) 파라미터 수").run()
    assert "8,256" in all_text(at)


def test_every_service_failure_has_a_korean_label_and_is_never_cached_or_searched() -> None:
    from kb.error_match import SANDBOX_KINDS
    from ui import messages
    from verifiers.cache import NOT_CACHED
    from verifiers.report import SERVICE_FAILURES

    assert set(messages.ERROR_KINDS) == SERVICE_FAILURES
    assert SERVICE_FAILURES <= NOT_CACHED and SERVICE_FAILURES <= SANDBOX_KINDS
