"""Every Korean string the pages show, in one place (the core's own messages live in kb)."""

from __future__ import annotations

LOADING_INDEX = "검색 색인을 준비하는 중입니다… (처음 한 번은 색인을 만듭니다)"
LOADING_EMBEDDER = "임베딩 모델을 불러오는 중입니다… 곧 질문할 수 있습니다."

INSTRUCTOR_UNSET = (
    "강사 페이지는 잠겨 있습니다. 서버를 시작할 때 환경 변수 `COURSEBOT_INSTRUCTOR_PASSWORD`에 암호를 "
    "정하면 열 수 있습니다. 예: `COURSEBOT_INSTRUCTOR_PASSWORD='긴 암호' make run`"
)
INSTRUCTOR_PROMPT = "강사 암호"
INSTRUCTOR_WRONG = "암호가 맞지 않습니다."
