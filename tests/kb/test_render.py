"""The terminal renders a snippet's own text as text: no markup, no control characters."""

from __future__ import annotations

import io

from rich.console import Console

from kb.render import print_reports
from verifiers.report import ErrorInfo, LayerInfo, ModelInfo, VerifyReport

HOSTILE_NAME = "d[green]\x1b[2J\x1b[H\u202eok"


def _render(report: VerifyReport) -> str:
    out = io.StringIO()
    print_reports([report], Console(file=out, width=200, force_terminal=True, color_system="standard", highlight=False), "en")
    return out.getvalue()


def test_a_snippet_s_error_message_cannot_close_the_renderer_s_markup() -> None:
    """`raise ValueError("[/red] bad")` crashed `coursebot verify` with Rich's MarkupError traceback."""
    report = VerifyReport(ok=False, keras_version="3", keras_major="3",
                          error=ErrorInfo(type="ValueError", message="x[/red]\n[green]Total params: 999 ✓[/green]", line=1))
    shown = _render(report)
    assert "[/red]" in shown and "[green]Total params: 999 ✓[/green]" in shown
    assert "\x1b[32m" not in shown     # the fake line is not drawn green


def test_a_layer_name_s_escape_codes_and_bidi_overrides_never_reach_the_terminal() -> None:
    model = ModelInfo(var=HOSTILE_NAME, layers=[LayerInfo(name=HOSTILE_NAME, cls="Dense", output_shape=[None, 3],
                                                          params=15)], total_params=15, trainable_params=15)
    shown = _render(VerifyReport(ok=True, keras_version="3", keras_major="3", models=[model]))
    assert "\x1b[2J" not in shown and "\x1b[H" not in shown and "\u202e" not in shown
    assert "d[green]" in shown and "15" in shown


def test_the_sandbox_s_own_failures_are_told_in_the_reader_s_language_and_keras_errors_as_they_are() -> None:
    from kb.messages import FAILURES_KO, say_failure
    from verifiers.report import SERVICE_FAILURES

    assert set(FAILURES_KO) == SERVICE_FAILURES   # every failure of the sandbox has its Korean sentence
    timeout = "the snippet ran longer than 10 s and was stopped"
    assert say_failure("ko", "Timeout", timeout).startswith("10초 안에 끝나지 않아 중단했습니다")
    assert say_failure("ko", "Timeout", "the snippet used more CPU time than allowed and was stopped") \
        == FAILURES_KO["Timeout"]
    assert say_failure("en", "Timeout", timeout) == timeout
    assert say_failure("ko", "ValueError", "Input 0 of layer \"lstm\" is incompatible") == \
        "Input 0 of layer \"lstm\" is incompatible"
    out = io.StringIO()
    print_reports([VerifyReport(ok=False, keras_version="3", keras_major="3",
                                error=ErrorInfo(type="Crashed", message="killed by signal SIGKILL"))],
                  Console(file=out, width=200), "ko")
    assert "메모리 한도를 넘었을 수 있어요" in out.getvalue() and "SIGKILL" not in out.getvalue()


def test_a_declined_answer_renders_its_topic_in_bold_and_lists_no_unrelated_entries() -> None:
    from kb.answer_types import Answer
    from kb.render import print_answer
    from kb.search_types import Hit

    far = Hit(id="return-sequences", kind="entry", title="return_sequences 출력 shape", score=0.01, confidence=0.0,
              sources=[], chunk="...")
    answer = Answer(question="모델 저장은?", answered=False, confidence=0.0, lang="ko", hits=[far],
                    answer="이 질문은 **모델 저장과 불러오기** 주제로 보이는데, 강의 Q&A에는 이 주제를 다룬 답이 없습니다.")
    out = io.StringIO()
    print_answer(answer, Console(file=out, width=200))
    shown = out.getvalue()
    assert "모델 저장과 불러오기" in shown and "**" not in shown
    assert "관련 항목" not in shown and "return-sequences" not in shown
