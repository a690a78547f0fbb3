"""Every user-facing sentence the answer builds, in Korean and English (one place per language)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from verifiers.report import Difference

Lang = Literal["ko", "en"]
HANGUL = re.compile(r"[가-힣]")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def language(question: str) -> Lang:
    """Korean if the question has any Hangul, English if it has words and no Hangul."""
    if HANGUL.search(question):
        return "ko"
    return "en" if LATIN_WORD.search(question) else "ko"


KO: dict[str, str] = {
    "not_covered_lead": "이 질문은 강의 지식 베이스에서 자신 있게 답할 내용을 찾지 못했습니다. ",
    "not_covered_rest": (
        "coursebot은 Keras로 배우는 딥러닝/NLP 강의 내용(RNN·LSTM·GRU, Bidirectional, Conv1D, "
        "Embedding, TimeDistributed, return_sequences, 파라미터 수와 출력 shape 등)을 다룹니다. "
        "레이어 이름이나 오류 메시지를 넣어 다시 물어보거나, Keras 코드를 붙여 넣으면 직접 실행해 shape과 "
        "파라미터를 보여 드립니다. 강의 운영(일정, 과제, 출석) 문의는 강사에게 해 주세요."),
    # a space after the bold: "**… (warmup)**에" would not close (CommonMark's flanking rules)
    "not_covered_topic": "이 질문은 **{title}** 주제로 보이는데, 강의 Q&A에는 이 주제를 다룬 답이 없습니다. ",
    "params": "{layer}의 파라미터: {formula}{value}개{versions}",
    "shape": "{layer}의 출력 shape: {value}{versions}",
    "total": "모델 전체 파라미터: {value}개{versions}",
    "same": " (Keras 3·2 동일)",
    "differ": " (Keras 3: {k3}, Keras 2: {k2})",
    "build_error": "질문의 구성을 Keras로 만들면 오류가 납니다: `{type}: {message}`",
    "chain_input": "질문에 적힌 입력 {shape}에 레이어를 차례로 쌓아 Keras 3와 Keras 2에서 직접 만들어 계산했습니다.",
    "default_input": "입력 shape이 질문에 없어 {shape}을(를) 가정하고 만들어 계산했습니다 (첫 레이어의 파라미터는 입력 특성 수에 따라 달라집니다).",
    "default_features": "질문에 길이만 있고 특성 수가 없어 입력을 {shape}(특성 {features}개)로 가정하고 만들어 계산했습니다 (출력 길이는 특성 수와 상관없지만, 첫 레이어의 파라미터는 특성 수에 따라 달라집니다).",
    "in_snippet": "입력이 질문에 없어, '{title}' 항목의 예제 코드({snippet})에서 같은 종류의 레이어를 질문의 것으로 바꿔 계산했습니다.",
    "carried": "이전 질문의 모델에서 {changes}{ro} 바꿔 계산했습니다. 아래 항목의 설명과 숫자는 바꾸기 전 구성에 대한 것입니다.",
    "carried_topic": "이전 질문({previous})에 이어지는 질문으로 보고 답했습니다.",
    "build_unsized": "질문의 {what}에는 크기({sizes})가 없어 직접 만들지 않았습니다. 크기를 적으면(예: LSTM(32)) 실제로 만들어 shape과 파라미터를 보여 드립니다.",
    "build_unknown_layer": "질문의 {what}은(는) 만들지 않았습니다: {layer}은(는) 질문에서 바로 만드는 레이어(Dense, Embedding, LSTM, GRU, SimpleRNN, Conv1D, 풀링, Bidirectional, TimeDistributed 등)가 아닙니다. 코드로 붙여 넣으면 실행해 볼 수 있습니다.",
    "build_no_inner": "질문의 {what}에는 감쌀 레이어가 없어 만들지 않았습니다 (예: {layer}(LSTM(32))).",
    "build_too_large": "질문의 {what}은(는) {layer}의 크기 {size}이(가) 너무 커서 샌드박스에서 만들지 않았습니다.",
    "build_not_positive": "질문의 {what}은(는) {layer}의 크기 {size}이(가) 양수가 아니어서 만들 수 없습니다.",
    "build_unsupported": "질문의 {what}은(는) 만들지 않았습니다: `{text}`은(는) 값이 아니어서 질문에서 읽을 수 없습니다. 숫자로 적어 주세요.",
    "too_many": "질문의 구성은 파라미터가 {count:,}개로 너무 커서 샌드박스에서 만들지 않았습니다.",
    "not_run": "--no-verify: 질문의 구성을 Keras로 실행하지 않았습니다.",
    "entry_not_run": "이 예제는 아직 Keras로 실행한 결과가 없습니다 (검증 없이 답하도록 요청했습니다).",
    "verify_failed": "질문의 구성을 검증하지 못했습니다: {message}",
    "pasted_rejected": "이 코드는 안전 정책 때문에 실행하지 않았습니다: {reason}.",
    "pasted_syntax": "코드에 파이썬 문법 오류가 있어 실행하지 않았습니다{where}: {detail}.",
    "pasted_error": "{versions}에서 `{type}`{where}: {explanation}",
    "pasted_failure": "{versions}에서 {type}{where}: {explanation}",
    "pasted_where": " ({line}번째 줄)",
    "pasted_passes": " ({versions}에서는 오류 없이 실행됩니다.)",
    "generic_error": "`{type}` 오류가 났습니다: {message}",
}

EN: dict[str, str] = {
    "not_covered_topic": "This looks like a question about **{title}**, which the course Q&A does not cover. ",
    "not_covered_lead": "The course knowledge base has nothing that answers this question with confidence. ",
    "not_covered_rest": (
        "coursebot covers the Keras deep-learning/NLP course (RNN, LSTM, GRU, Bidirectional, Conv1D, Embedding, TimeDistributed, "
        "return_sequences, parameter counts and output shapes). Ask again with a layer name or the error message, "
        "or paste your Keras code and it will be built to show the real shapes and parameters. Questions about "
        "course logistics (schedule, assignments, attendance) go to the instructors."),
    "params": "{layer} parameters: {formula}{value}{versions}",
    "shape": "{layer} output shape: {value}{versions}",
    "total": "Whole model: {value} parameters{versions}",
    "same": " (same in Keras 3 and 2)",
    "differ": " (Keras 3: {k3}, Keras 2: {k2})",
    "build_error": "Built in Keras, the configuration in your question raises `{type}: {message}`",
    "chain_input": "Built in Keras 3 and Keras 2 by stacking the layers on the input you gave, {shape}.",
    "default_input": "Your question gives no input shape, so {shape} was assumed (the first layer's parameters depend on the number of input features).",
    "default_features": "Your question gives a length but no number of features, so the input {shape} ({features} features) was assumed (the output length does not depend on it, the first layer's parameters do).",
    "in_snippet": "Your question gives no input, so the layers of the same class in the example code of '{title}' ({snippet}) were replaced by yours.",
    "carried": "Computed on the previous question's model with {changes}. The entry below explains the configuration before the change.",
    "carried_topic": "Read as a follow-up to your previous question ({previous}).",
    "build_unsized": "{what} in your question has no size ({sizes}), so it was not built; give one (e.g. LSTM(32)) to see the real shapes and parameters.",
    "build_unknown_layer": "{what} in your question was not built: {layer} is not a layer coursebot builds from a question (Dense, Embedding, LSTM, GRU, SimpleRNN, Conv1D, pooling, Bidirectional, TimeDistributed …); paste it as code to run it.",
    "build_no_inner": "{what} in your question wraps no layer, so it was not built (e.g. {layer}(LSTM(32))).",
    "build_too_large": "{what} in your question was not built: {layer} size {size} is too large for the sandbox.",
    "build_not_positive": "{what} in your question cannot be built: {layer} size {size} is not positive.",
    "build_unsupported": "{what} in your question was not built: `{text}` is not a plain value; write the numbers out.",
    "too_many": "The configuration in your question has {count:,} parameters, too many to build in the sandbox.",
    "not_run": "--no-verify: the configuration in your question was not run.",
    "entry_not_run": "This example has no Keras result yet (the answer was asked for without verification).",
    "verify_failed": "The configuration in your question could not be verified: {message}",
    "pasted_rejected": "This code was not run because of the sandbox policy: {reason}.",
    "pasted_syntax": "This code was not run: it has a Python syntax error{where}: {detail}.",
    "pasted_error": "{versions}: `{type}`{where}: {explanation}",
    "pasted_failure": "{versions}: {type}{where}: {explanation}",
    "pasted_where": " (line {line})",
    "pasted_passes": " (it runs without error in {versions}.)",
    "generic_error": "`{type}` was raised: {message}",
}


for _words in (KO, EN):   # said whole, or after the uncovered topic's sentence (which replaces the lead)
    _words["not_covered"] = _words["not_covered_lead"] + _words["not_covered_rest"]


def say(lang: Lang, key: str, **values: object) -> str:
    return (EN if lang == "en" else KO)[key].format(**values)


def group(number: int) -> str:
    return f"{number:,}"


UI: dict[str, dict[str, str]] = {
    "ko": {"lead": "질문한 숫자", "built": "질문의 구성을 Keras로 만든 코드와 결과", "pasted": "붙여 넣은 코드를 실행한 결과",
           "error": "오류 설명", "unanswered": "답변할 수 없는 질문", "sources": "출처: ", "check": "검증",
           "claim": "답변의 {text} (실제 {real})", "related": "관련 항목: ",
           "chat_intro": "coursebot 대화 (/new 새 대화, /quit 또는 Ctrl-D 끝내기)", "new": "새 대화를 시작합니다.",
           "prompt": "질문> ", "col_layer": "레이어", "col_class": "클래스", "col_shape": "출력 shape",
           "col_params": "파라미터", "total": "전체 파라미터 {total}개 · 학습 가능 {trainable}개", "cached": "캐시",
           "refused": "실행 거부{where}", "at_line": " ({line}번째 줄)", "note": "참고",
           "standalone": "레이어 {var} ({cls}): 파라미터 {params}개", "tensor": "텐서 {var}: {shape}",
           "differences": "Keras 3와 Keras 2의 차이", "confidence": "확신도 {value:.2f}",
           "diff_outcome": "Keras {ka}: {x} · Keras {kb}: {y}",
           "diff_total_params": "{where}의 전체 파라미터: Keras {ka} {x} · Keras {kb} {y}",
           "diff_output_shape": "{where}의 출력 shape: Keras {ka} {x} · Keras {kb} {y}",
           "diff_params": "{where}의 파라미터: Keras {ka} {x} · Keras {kb} {y}",
           "diff_layer_count": "{where}의 레이어 수: Keras {ka} {x}개 · Keras {kb} {y}개",
           "diff_tensor_shape": "{where}의 shape: Keras {ka} {x} · Keras {kb} {y}",
           "runs": "정상 실행", "refused_outcome": "실행 거부",
           "status_verified": "실행함", "status_cached": "캐시", "status_not_verified": "실행 안 함", "status_failed": "실패",
           "built_for_counting": "파라미터 수를 세려고 coursebot이 입력 shape (None, None)으로 모델을 만들었습니다. "
                                 "Input 레이어로 shape을 직접 정해 주면 더 정확합니다.",
           "not_built": "모델이 아직 만들어지지 않아 Keras가 파라미터 수를 셀 수 없습니다. 입력 shape을 알려 주세요 "
                        "(맨 앞에 keras.Input(shape=...)을 두거나 model.build(...)를 호출)."},
    "en": {"lead": "Your numbers", "built": "Your configuration built in Keras", "pasted": "Your pasted code, run",
           "error": "What the error means", "unanswered": "Not covered", "sources": "Sources: ", "check": "Check",
           "claim": "the answer's {text} (actual {real})", "related": "Related: ",
           "chat_intro": "coursebot chat (/new starts over, /quit or Ctrl-D ends)", "new": "Starting a new conversation.",
           "prompt": "question> ", "col_layer": "layer", "col_class": "class", "col_shape": "output shape",
           "col_params": "params", "total": "total params {total} · trainable {trainable}", "cached": "cached",
           "refused": "Refused{where}", "at_line": " (line {line})", "note": "note",
           "standalone": "layer {var} ({cls}): {params} params", "tensor": "tensor {var}: {shape}",
           "differences": "Differences between Keras 3 and Keras 2", "confidence": "confidence {value:.2f}",
           "diff_outcome": "Keras {ka}: {x} · Keras {kb}: {y}",
           "diff_total_params": "{where}: total params Keras {ka} {x} · Keras {kb} {y}",
           "diff_output_shape": "{where}: output shape Keras {ka} {x} · Keras {kb} {y}",
           "diff_params": "{where}: params Keras {ka} {x} · Keras {kb} {y}",
           "diff_layer_count": "{where}: {x} layers in Keras {ka} · {y} in Keras {kb}",
           "diff_tensor_shape": "{where}: shape Keras {ka} {x} · Keras {kb} {y}",
           "runs": "runs", "refused_outcome": "refused",
           "status_verified": "run", "status_cached": "cached", "status_not_verified": "not run", "status_failed": "failed",
           "built_for_counting": "built by coursebot with input shape (None, None) to count parameters; add an Input "
                                 "layer to state the shape yourself.",
           "not_built": "the model is not built yet, so Keras cannot count its parameters: give it an input shape "
                        "(keras.Input(shape=...) first, or model.build(...))."},
}


# The final consonant of the Korean reading of a last digit or Latin letter: 로 follows a vowel or ㄹ,
# 으로 any other final consonant (3 삼, 6 육, 0 영/십/백/천, M 엠, N 엔).
_RO_AFTER = {**dict.fromkeys("1245789", "로"), **dict.fromkeys("360", "으로"),
             **{c: "으로" if c in "MN" else "로" for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}}


def particle_ro(text: str) -> str:
    """로 or 으로 after ``text`` ("16으로", "GRU(32)로", "LSTM으로", "양방향으로")."""
    word = text.rstrip(" )]'\"")
    if not word:
        return "로"
    last = word[-1]
    if "가" <= last <= "힣":
        final = (ord(last) - ord("가")) % 28
        return "로" if final in (0, 8) else "으로"   # no final consonant, or ㄹ
    return _RO_AFTER.get(last.upper(), "로")


def say_ui(lang: str, key: str, **values: object) -> str:
    return UI["en" if lang == "en" else "ko"][key].format(**values)


REFUSAL_WORDS: dict[str, dict[str, str]] = {
    "ko": {"syntax": "파이썬 문법 오류입니다 ({subject})",
           "reaches": "'{subject}'은(는) 파일·네트워크·메모리에 닿기 때문에 쓸 수 없습니다",
           "import_other": "tensorflow, keras, numpy, math만 import할 수 있습니다 ('{subject}'은(는) 안 됩니다)",
           "import_forbidden": "'{subject}'은(는) import할 수 없습니다",
           "dunder_name": "밑줄 두 개로 시작하는 이름('{subject}')은 쓸 수 없습니다",
           "forbidden_name": "'{subject}'은(는) 스니펫에서 쓸 수 없습니다",
           "dunder_attribute": "밑줄 두 개로 시작하는 속성('{subject}')은 쓸 수 없습니다",
           "scope": "모델을 만드는 데 global/nonlocal은 필요 없습니다",
           "dunder_string": "밑줄 두 개가 들어간 문자열은 쓸 수 없습니다"},
}


def say_rejection(lang: str, kind: str, subject: str, reason: str) -> str:
    """Why the sandbox's policy refused a snippet, for the reader (the English ``reason`` otherwise)."""
    words = REFUSAL_WORDS.get(lang, {}).get(kind)
    return words.format(subject=subject) if words else reason


# The sandbox's own failures (verifiers.report.ServiceFailure) as a Korean reader is told them; the
# English messages come from the verifier as they are. A Keras error is always shown in Keras's words.
FAILURES_KO: dict[str, str] = {
    "Timeout": "제한 시간 안에 끝나지 않아 중단했습니다. 무한 루프나 아주 큰 계산이 없는지 확인해 보세요.",
    "Crashed": "실행 중인 프로세스가 강제로 종료됐습니다. 메모리 한도를 넘었을 수 있어요.",
    "NoResult": "코드가 결과 없이 끝났습니다. 중간에 프로그램을 끝내는 코드(exit 등)가 없는지 확인해 보세요.",
    "ResultTooLarge": "코드가 돌려준 결과가 64 KB보다 커서 보여 드릴 수 없습니다.",
    "InvalidResult": "실행 결과를 믿을 수 없어 숫자를 보여 드리지 않습니다.",
    "ForkHang": "실행기가 코드를 시작하지 못했습니다. 잠시 후 다시 보내 주세요.",
    "WorkerError": "Keras 실행기에 문제가 생겨 다시 시작했습니다. 잠시 후 다시 보내 주세요.",
    "SandboxError": "격리 실행 환경에 문제가 있어 코드를 실행하지 못했습니다. 강사에게 알려 주세요.",
    "QueueFull": "실행을 기다리는 코드가 이미 여럿 있습니다. 그 코드들이 끝난 뒤 다시 보내 주세요.",
}
SECONDS = re.compile(r"longer than ([0-9.]+) s")
# What each failure of the sandbox is called (the label before its sentence).
FAILURE_KINDS: dict[Lang, dict[str, str]] = {
    "ko": {"Timeout": "시간 초과", "WorkerError": "실행기 오류", "SandboxError": "샌드박스 오류",
           "Crashed": "실행 중 비정상 종료", "ForkHang": "실행기 오류", "NoResult": "결과 없이 끝남",
           "ResultTooLarge": "결과가 너무 큼", "InvalidResult": "믿을 수 없는 결과", "QueueFull": "대기 중인 코드가 너무 많음"},
    "en": {"Timeout": "Timed out", "WorkerError": "Runner error", "SandboxError": "Sandbox error",
           "Crashed": "Crashed while running", "ForkHang": "Runner error", "NoResult": "Ended without a result",
           "ResultTooLarge": "Result too large", "InvalidResult": "Untrustworthy result",
           "QueueFull": "Too much code waiting"},
}


def failure_name(lang: str, kind: str) -> str | None:
    """What the sandbox's own failure ``kind`` is called in ``lang``; None for an error of the snippet's."""
    return FAILURE_KINDS["en" if lang == "en" else "ko"].get(kind)


def say_failure(lang: str, kind: str, message: str) -> str:
    """The sandbox's message for a failure of its own in the reader's language (a Keras error as is)."""
    words = FAILURES_KO.get(kind) if lang == "ko" else None
    if words is None:
        return message
    seconds = SECONDS.search(message)
    return f"{seconds.group(1)}초 " + words.replace("제한 시간 안에", "안에") if seconds else words


def say_note(lang: str, note: str, kind: str | None) -> str:
    """A model's note from the worker, worded for the reader by its kind (its own words if unknown)."""
    from typing import get_args

    from verifiers.report import NoteKind

    return say_ui(lang, kind) if kind is not None and kind in get_args(NoteKind) else note


def say_value(value: object) -> str:
    """A real Keras value as the answers write numbers: 8,256; shapes as Keras prints them; ? if unknown."""
    from verifiers.report import format_shape

    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return format_shape(value)


def say_difference(lang: str, d: Difference) -> str:
    """One difference between Keras 3 and Keras 2, worded for the reader."""
    def word(value: str) -> str:   # the outcome words the verifier uses
        return {"runs": say_ui(lang, "runs"), "refused": say_ui(lang, "refused_outcome")}.get(value, value)

    return say_ui(lang, f"diff_{d.kind}", where=d.where, x=word(d.first), y=word(d.second),
                  ka=d.first_keras, kb=d.second_keras)
