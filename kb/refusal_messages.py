"""User-facing text of refusals and suggestions (Korean, the students' language), in one place."""

from __future__ import annotations

REFUSAL_MESSAGES: dict[str, str] = {
    "personal_data": (
        "죄송하지만 강사나 수강생의 이메일, 전화번호, 주소 같은 개인 정보는 알려 드릴 수 없습니다. "
        "강의 관련 연락은 공식 강의 채널(공지된 게시판이나 메일)을 이용해 주세요."
    ),
    "financial_advice": (
        "죄송하지만 주식·코인 등 투자나 재무에 관한 조언은 드릴 수 없습니다. "
        "coursebot은 Keras로 배우는 딥러닝/NLP 강의 내용(예: LSTM으로 시계열을 다루는 방법)만 답합니다."
    ),
    "instructions": (
        "coursebot에는 보여 드리거나 바꿀 수 있는 숨은 지시문이 없습니다. 지식 베이스의 검증된 답만 보여 드려요. "
        "Keras 강의 내용(예: LSTM의 return_sequences, 파라미터 수)에 대해 질문해 주세요."
    ),
}
SUGGESTIONS_LEAD = "대신 이런 주제는 답할 수 있어요:"
