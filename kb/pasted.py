"""Code pasted into a question: add the usual imports, build it, explain a failure in plain words."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from kb.answer_types import Lang, Verification
from kb.core.errors import CoursebotError
from kb.messages import failure_name, say, say_failure, say_rejection

if TYPE_CHECKING:
    from verifiers.report import SnippetVerifier

PRELUDE = (
    "import tensorflow as tf\n"
    "from tensorflow import keras\n"
    "from tensorflow.keras import Input\n"
    "from tensorflow.keras.models import Sequential, Model\n"
    "from tensorflow.keras.layers import *\n"
)

# Common errors, explained in the student's terms (pattern in the message -> explanation).
ERROR_HINTS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"Unrecognized keyword arguments passed to Bidirectional|unexpected keyword argument "
                r"'return_sequences'", re.I),
     "`return_sequences`(또는 `return_state`)는 `Bidirectional`이 아니라 안쪽 RNN 레이어의 인자입니다: "
     "`Bidirectional(LSTM(64, return_sequences=True))`처럼 쓰세요."),
    (re.compile(r"Kernel shape must have the same length as input|expected ndim=3, found ndim=4", re.I),
     "`Conv1D`는 (배치, 길이, 채널)의 3차원 입력만 받는데 4차원 텐서가 들어왔습니다. 단어마다 Conv1D를 "
     "적용하려면 `TimeDistributed(Conv1D(...))`로 감싸세요."),
    (re.compile(r"expected ndim=3, found ndim=2|expects? (?:a )?3D input|received input with shape "
                r"\(None, \d+\)", re.I),
     "RNN 레이어는 (배치, 시간, 특성)의 3차원 입력이 필요한데 2차원이 들어왔습니다. 앞의 RNN에 "
     "`return_sequences=True`를 주었는지, 입력 shape이 맞는지 확인하세요."),
    (re.compile(r"has not yet been built|not built|You must call `build", re.I),
     "모델이 아직 빌드되지 않아 파라미터 수를 셀 수 없습니다. `Input(shape=...)`으로 시작하거나 "
     "`model.build((None, 길이))`를 먼저 호출하세요."),
    (re.compile(r"is not defined", re.I),
     "정의되지 않은 이름이 있습니다. 필요한 레이어를 import 했는지, 변수 이름이 맞는지 확인하세요."),
]


def explain_error(kind: str, message: str, lang: Lang = "ko") -> str:
    if failure_name(lang, kind) is not None:   # the sandbox's own failure: its sentence in the reader's language
        return say_failure(lang, kind, message)
    if lang == "ko":
        for pattern, text in ERROR_HINTS:
            if pattern.search(message) or pattern.search(kind):
                return text
    return say(lang, "generic_error", type=kind, message=message.splitlines()[0][:300] if message else "")


def with_prelude(code: str) -> tuple[str, int]:
    """Add the usual Keras imports to a pasted fragment that has none (students often omit them)."""
    if re.search(r"^\s*(import|from)\s", code, re.M):
        return code, 0
    return PRELUDE + code, PRELUDE.count("\n")


def verify_pasted(verifier: SnippetVerifier, code: str, lang: Lang = "ko", *, session: str | None = None,
                  on_wait: Callable[[int], None] | None = None) -> Verification:
    """Build pasted code; ``session``/``on_wait`` go to the verifier's fair queue (queue position)."""
    from verifiers import differences

    full, shift = with_prelude(code)
    try:
        runs = verifier.verify(full, session=session, on_wait=on_wait)
    except CoursebotError as exc:
        return Verification(source="pasted", snippet="pasted", code=code, status="failed", message=str(exc))
    for run in runs:
        if shift and run.error and run.error.line:
            run.error.line = max(1, run.error.line - shift)
        if shift and run.rejected and run.rejected.line:
            run.rejected.line = max(1, run.rejected.line - shift)
    v = Verification(source="pasted", snippet="pasted", code=code, status="verified", runs=runs,
                     differences=differences(runs[0], runs[1]) if len(runs) == 2 else [])
    rejected = next((r.rejected for r in runs if r.rejected), None)
    if rejected:
        if rejected.kind == "syntax":   # a syntax error is no safety refusal
            where = say(lang, "pasted_where", line=rejected.line) if rejected.line else ""
            v.explanation = say(lang, "pasted_syntax", where=where, detail=rejected.subject)
        else:
            why = say_rejection(lang, rejected.kind, rejected.subject, rejected.reason)
            v.explanation = say(lang, "pasted_rejected", reason=why)
        return v
    failed = [r for r in runs if r.error]
    if failed:
        err = failed[0].error
        assert err is not None
        where = say(lang, "pasted_where", line=err.line) if err.line else ""
        versions = ", ".join(f"Keras {r.keras_major}" for r in failed)
        passed = [f"Keras {r.keras_major}" for r in runs if r.ok]
        named = failure_name(lang, err.type)
        v.explanation = (say(lang, "pasted_failure" if named else "pasted_error", versions=versions,
                             type=named or err.type, where=where,
                             explanation=explain_error(err.type, err.message, lang))
                         + (say(lang, "pasted_passes", versions=", ".join(passed)) if passed else ""))
    return v
