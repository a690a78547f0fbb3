from ingest.redact import find_pii, redact, redact_document, redact_question

# Made-up text in the shape of a forwarded course e-mail (no real person).
MAIL = """안녕하세요. 질문 드립니다.

홍길동

교육기술팀 / 연구원

부산광역시 해운대구 센텀중앙로 99

Mobile 010-1234-5678

Email gildong.hong@example.co.kr

2024년 1월 2일 (화) 오전 9:00, 김철수 <chulsoo.kim@example.com>님이 작성:

From: "Tester" <tester@example.org>
Conv1D 입력은 (None, 500, 128) 입니다. 파라미터는 28,704개, 전화는 02-123-4567 로.
"""


def test_redact_masks_email_phone_and_address() -> None:
    clean = redact(MAIL)
    assert find_pii(clean) == []
    assert "example" not in clean
    assert "센텀중앙로" not in clean
    assert "010-1234-5678" not in clean and "02-123-4567" not in clean
    assert "교육기술팀" not in clean
    assert "님이 작성" not in clean


def test_redact_keeps_technical_content() -> None:
    clean = redact(MAIL)
    assert "Conv1D 입력은 (None, 500, 128) 입니다" in clean
    assert "28,704" in clean


def test_find_pii_ignores_shapes_and_counts() -> None:
    assert find_pii("shape (32, 25, 20), params 714,433 and 8256, lr 0.001") == []
    assert find_pii("call +82 10 9876 5432 or 010.9876.5432") != []


PASTED = """from tensorflow.keras.layers import Dense, LSTM
from keras.utils import to_categorical
to = Dense(3)
sent = LSTM(64)
tel = 2
Tel = 3
email = "none"
if wrote:
    y = to_categorical(labels)
이 모델도 Dense를 2개로 10 epoch 돌렸는데요"""


def test_question_redaction_keeps_every_code_line() -> None:
    assert redact_question(PASTED) == PASTED
    asked = PASTED + "\n답은 kim.student@example.com, 010-2345-6789 로 주세요"
    clean = redact_question(asked)
    assert clean.startswith(PASTED) and find_pii(clean) == []


def test_question_redaction_drops_a_quoted_mail_header() -> None:
    clean = redact_question("이 메일 이해가 안 가요\nFrom: 홍길동 <gildong@example.com>\n"
                            "2024년 1월 2일 (화) 오전 9:00, 김철수 <c@example.com>님이 작성:\nConv1D 질문")
    assert "홍길동" not in clean and "김철수" not in clean and "Conv1D 질문" in clean


def test_document_redaction_drops_headers_but_keeps_code() -> None:
    doc = MAIL + "\n" + PASTED + "\nTo: 수강생 여러분\nSent: Monday\nTel 02-555-1234\n"
    clean = redact_document(doc)
    assert find_pii(clean) == [] and "수강생 여러분" not in clean and "Sent: Monday" not in clean
    assert PASTED in clean
    assert redact(doc) == clean  # the index's name for it
