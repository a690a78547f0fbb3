"""Every Korean string the pages show, in one place (the core's own messages live in kb), and the
English words of the chrome around one answer: a student who asks in English gets the answer, its
tables, checks and sources in English, while the page itself stays Korean."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kb.messages import FAILURE_KINDS

if TYPE_CHECKING:
    from kb.messages import Lang

LOADING_INDEX = "검색 색인을 준비하는 중입니다… (처음 한 번은 색인을 만듭니다)"
LOADING_EMBEDDER = "임베딩 모델을 불러오는 중입니다… 곧 질문할 수 있습니다."

INSTRUCTOR_UNSET = (
    "강사 페이지는 잠겨 있습니다. 서버를 시작할 때 환경 변수 `COURSEBOT_INSTRUCTOR_PASSWORD`에 암호를 "
    "정하면 열 수 있습니다. 예: `COURSEBOT_INSTRUCTOR_PASSWORD='긴 암호' make run`"
)
INSTRUCTOR_PROMPT = "강사 암호"
INSTRUCTOR_WRONG = "암호가 맞지 않습니다."

# Keras results
COL_LAYER, COL_CLASS, COL_SHAPE, COL_PARAMS, COL_TENSOR = "레이어", "클래스", "출력 shape", "파라미터", "텐서"
AT_LINE = " ({line}번째 줄)"
SYNTAX_ERROR = "파이썬 문법 오류{where}: {detail}. 코드를 고친 뒤 다시 보내 주세요."
REFUSED = "안전 정책 때문에 실행하지 않았습니다{where}: {reason}"
ERROR_KINDS: dict[str, str] = FAILURE_KINDS["ko"]   # what each of the sandbox's own failures is called
TOTAL_PARAMS = " · 전체 파라미터 {n}"
BUILT_OK = "오류 없이 만들어졌습니다"
VERSION_DIFF = "버전 차이: {line}"
NO_DIFFERENCE = "Keras 3와 Keras 2의 결과: 차이 없음"
CHECKED = "검증: {name}{marks}"
PASTED_RESULT = "붙여 넣은 코드 실행 결과"
NOT_VERIFIED = "아직 검증되지 않았습니다."
CLAIM_OK = "✓ 답변의 **{text}** — 실제 값 {real}"
CLAIM_BAD = "✗ 답변의 {text} — 실제 값 {real}"

# Snippet page
VERIFY_TITLE = "coursebot · Keras 코드 검증"
VERIFY_CAPTION = "Keras 코드를 붙여 넣으면 Keras 3와 Keras 2(tf-keras)로 실제로 만들어 보고 shape과 파라미터 수를 보여 줍니다."
VERIFY_LABEL = "Keras 코드"
VERIFY_BUTTON = "검증하기"
VERIFY_RUNNING = "샌드박스에서 Keras로 만드는 중…"
STATUS_DONE = "완료"
STATUS_STOPPED = "시간 초과나 실행기 오류로 중단되었습니다"

# Chat
CHAT_TITLE = "coursebot · Keras 강의 Q&A"
CHAT_CAPTION = ("강의 지식 베이스에서 답하고, 답에 나오는 Keras 코드는 실제로 만들어 shape과 파라미터 수를 보여 줍니다. "
                "코드나 오류 메시지를 그대로 붙여 넣어도 됩니다.")
CHAT_PLACEHOLDER = "질문을 입력하거나 Keras 코드/오류를 붙여 넣으세요"
CHAT_PLACEHOLDER_LOADING = "준비하는 중입니다… 곧 질문할 수 있습니다"
NEW_CHAT = "새 대화"
EXAMPLES_INTRO = "이런 질문을 해 보세요:"
EXAMPLES = (
    "LSTM(64) 뒤 Dense(64)의 파라미터 수는?",
    "return_sequences=True와 False의 차이가 뭔가요?",
    "TimeDistributed 레이어는 언제 쓰나요?",
    "Conv1D에 4차원 입력을 넣으면 왜 에러가 나요?",
)
RUNNING_CODE = "붙여 넣은 코드를 Keras 3와 Keras 2로 실행하는 중…"
SEARCHING = "답을 찾는 중…"
QUEUED = "앞에 {ahead}개의 코드가 실행 중입니다. 차례가 되면 바로 실행합니다…"
ANSWERED_IN = "답변 완료"
SOURCES = "출처"
RELATED = "관련 질문"
INTERRUPTED = "중단되었습니다: 답이 나오기 전에 다른 질문을 보내거나 페이지를 옮겼습니다. 다시 물어보세요."
THANKS = "의견 고맙습니다!"
INSTRUCTOR_DETAIL = "확신도 {confidence:.2f} · {ms:,} ms · 항목 `{entry}`"

# Instructor page
INSTRUCTOR_TITLE = "강사 페이지"
TAB_ADD, TAB_GAPS = "항목 추가", "커버리지 공백"
MODE_YAML, MODE_FORM = "YAML", "양식"
GAP_COUNTS = ("학생 질문 {questions}개 · 답함 {answered}개 · :material/thumb_up: {thumbs_up} · "
              ":material/thumb_down: {thumbs_down}")
NO_GAPS = "답하지 못했거나 👎를 받은 학생 질문이 아직 없습니다."
GAP_TITLE = "**{n}. {label}** · {count}번 물음"
GAP_TOPIC = ("강의 Q&A가 다루지 않는 주제 **{title}**(`{id}`)로 보이는 질문들입니다. 초안은 이 주제의 id로 "
             "만들어지며, 저장하면 이 주제는 더 이상 '다루지 않는 주제'로 세지 않습니다.")
TIMES = "{n}번"
REASON_UNANSWERED, REASON_DISLIKED = "답하지 못함", "낮은 평가"
MAKE_DRAFT = "이 묶음으로 항목 초안 만들기"
DRAFT_LOADED = "초안을 '항목 추가' 탭의 YAML 편집기에 넣었습니다. 답을 쓰고 미리보기 후 저장하세요."
ALL_PENDING = "질문 전체 목록"
COL_QUESTION, COL_TIMES, COL_REASON, COL_ENTRY, COL_CONFIDENCE, COL_LAST = (
    "질문", "횟수", "이유", "답한 항목", "확신도", "마지막")

# Entry form
FORM_ID = "id (영문 소문자와 -)"
FORM_TITLE = "제목"
FORM_TAGS = "태그 (쉼표로 구분)"
FORM_QUESTION = "대표 질문"
FORM_PARAPHRASES = "다른 표현들 (한 줄에 하나)"
FORM_ANSWER = "답변 (Markdown)"
FORM_SOURCES = "출처 문서 id (쉼표로 구분)"
FORM_CODE = "검증할 Keras 코드"
FORM_RUN = "코드 실행해서 실제 값 보기"
FORM_NUMBERS = "**답변에 적힌 숫자** — 각 숫자를 코드의 레이어(또는 모델 전체)와 묶으세요. 실제 Keras 값이 옆에 보입니다."
FORM_RUN_FIRST = "레이어를 고르려면 먼저 '코드 실행해서 실제 값 보기'를 누르세요."
FORM_TIE = "검증 방법"
FORM_TOTAL = "모델 전체 파라미터"
FORM_LAYER = "레이어 {n}: {name} ({cls})"
FORM_UNCHECKED = "검증하지 않음 (이유 적기)"
FORM_REASON = "검증하지 않는 이유"
FORM_REAL = "{mark} 실제 값 (Keras 3): **{value}**"
QUESTION_BUILT = "질문의 구성을 Keras로 만든 결과"


# The chrome around one answer, for a question asked in English (the keys are the names above).
ANSWER_EN: dict[str, str] = {
    "COL_LAYER": "Layer", "COL_CLASS": "Class", "COL_SHAPE": "Output shape", "COL_PARAMS": "Params",
    "COL_TENSOR": "Tensor", "AT_LINE": " (line {line})",
    "SYNTAX_ERROR": "Python syntax error{where}: {detail}. Fix the code and send it again.",
    "REFUSED": "Not run, by the safety policy{where}: {reason}", "TOTAL_PARAMS": " · total params {n}",
    "BUILT_OK": "Built without errors", "VERSION_DIFF": "Version difference: {line}",
    "NO_DIFFERENCE": "Keras 3 and Keras 2: no difference", "CHECKED": "Checked: {name}{marks}",
    "PASTED_RESULT": "Your pasted code, run", "NOT_VERIFIED": "Not verified yet.",
    "CLAIM_OK": "✓ **{text}** in the answer — actual value {real}", "CLAIM_BAD": "✗ {text} in the answer — actual value {real}",
    "QUESTION_BUILT": "Your question's configuration, built in Keras", "SOURCES": "Sources",
    "RELATED": "Related questions", "ANSWERED_IN": "Answered",
    "STATUS_STOPPED": "Stopped: a run timed out or its runner failed",
}


def word(name: str, lang: Lang = "ko") -> str:
    """One string of the answer's chrome in the answer's language."""
    if lang == "en":
        return ANSWER_EN[name]
    value: str = globals()[name]
    return value
