"""The question log on both backends: the shared contract, migrations, and two processes at once."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kb.core import storage
from kb.core.errors import SettingInvalid, StorageUnavailable
from kb.core.settings import PROJECT_ROOT, Settings
from kb.qlog import QuestionLog

CODE = "from tensorflow.keras.layers import Dense\nto = Dense(3)\nsent = to(x)\ntel = 1"


def test_record_and_turns_keep_a_conversation_in_order(database_url: str) -> None:
    log = QuestionLog(database_url)
    first = log.record("LSTM(64) 뒤 Dense 파라미터?", answered=True, entry_id="lstm", confidence=0.8,
                       session="s1", context={"entry_id": "lstm", "layers": [{"class": "LSTM", "units": 64}]},
                       answer={"question": "LSTM(64) 뒤 Dense 파라미터?", "answered": True})
    log.record("다른 대화", answered=False, entry_id=None, confidence=0.1, session="s2")
    second = log.record("그럼 128이면?", answered=True, entry_id="lstm", confidence=0.7, session="s1")
    turns = log.turns("s1")
    assert [t.id for t in turns] == [first, second]
    assert turns[0].context == {"entry_id": "lstm", "layers": [{"class": "LSTM", "units": 64}]}
    assert turns[0].answer == {"question": "LSTM(64) 뒤 Dense 파라미터?", "answered": True}
    assert turns[1].answer is None and turns[1].answered and turns[0].asked_at <= turns[1].asked_at
    assert [t.id for t in log.turns("s1", limit=1)] == [second]
    assert log.turns("nobody") == []


def test_logged_text_keeps_code_and_loses_personal_data(database_url: str) -> None:
    log = QuestionLog(database_url)
    qid = log.record(f"{CODE}\n답장은 kim.student@example.com 이나 010-2345-6789로", answered=False,
                     entry_id=None, confidence=0.2, session="s",
                     answer={"question": "메일 kim.student@example.com", "hits": [{"answer": "010-2345-6789"}]})
    (turn,) = log.turns("s")
    assert turn.id == qid and turn.question.startswith(CODE)
    assert "example.com" not in turn.question and "010-2345" not in turn.question
    assert "example.com" not in json.dumps(turn.answer) and "010-2345" not in json.dumps(turn.answer)


def test_feedback_replaces_an_earlier_rating(database_url: str) -> None:
    log = QuestionLog(database_url)
    qid = log.record("return_sequences 차이", answered=True, entry_id="return-sequences", confidence=0.9)
    log.feedback(qid, 0)
    assert [p.reason for p in log.pending()] == ["disliked"]
    log.feedback(qid, 1, comment="이제 이해했어요")
    assert log.pending() == []
    assert log.counts() == {"questions": 1, "answered": 1, "thumbs_up": 1, "thumbs_down": 0}
    with pytest.raises(KeyError):
        log.feedback(qid + 100, 1)
    with pytest.raises(ValueError):
        log.feedback(qid, 5)


def test_pending_leaves_out_refused_and_instructor_questions(database_url: str) -> None:
    log = QuestionLog(database_url)
    for _ in range(2):
        log.record("과제 마감이 언제예요?", answered=False, entry_id=None, confidence=0.1)
    log.record("  과제 마감이 언제예요? ", answered=False, entry_id=None, confidence=0.3)
    log.record("제 전화번호 알려드릴게요", answered=False, entry_id=None, confidence=0.0, refused="personal_data")
    log.record("주식 뭐 살까요", answered=False, entry_id=None, confidence=0.0, refused="financial")
    probe = log.record("강사 시험 질문", answered=False, entry_id=None, confidence=0.0, audience="instructor")
    log.feedback(probe, 0)
    liked = log.record("Dense 파라미터", answered=True, entry_id="dense", confidence=0.9)
    log.feedback(liked, 0)
    pending = log.pending()
    assert [(p.reason, p.times) for p in pending] == [("unanswered", 3), ("disliked", 1)]
    assert pending[0].question.strip() == "과제 마감이 언제예요?" and pending[0].confidence == pytest.approx(0.3)
    assert pending[1].entry_id == "dense"
    assert log.counts()["questions"] == 6


def test_old_unversioned_log_is_migrated_in_place(tmp_path: Path) -> None:
    path = tmp_path / "questions.sqlite"
    with closing(sqlite3.connect(path)) as db, db:  # the schema written before versioning
        db.executescript("""
            CREATE TABLE questions (id INTEGER PRIMARY KEY AUTOINCREMENT, asked_at REAL NOT NULL,
                question TEXT NOT NULL, answered INTEGER NOT NULL, entry_id TEXT, confidence REAL NOT NULL,
                has_code INTEGER NOT NULL DEFAULT 0, took_ms INTEGER NOT NULL DEFAULT 0);
            CREATE TABLE feedback (id INTEGER PRIMARY KEY AUTOINCREMENT,
                question_id INTEGER NOT NULL REFERENCES questions(id), given_at REAL NOT NULL,
                score INTEGER NOT NULL CHECK (score IN (0, 1)), entry_id TEXT, comment TEXT NOT NULL DEFAULT '');
            INSERT INTO questions VALUES (1, 1.0, '옛 질문', 1, 'dense', 0.9, 0, 12);
            INSERT INTO feedback VALUES (1, 1, 2.0, 1, 'dense', ''), (2, 1, 3.0, 0, 'dense', 'later');
        """)
    log = QuestionLog(path)
    assert log.counts() == {"questions": 1, "answered": 1, "thumbs_up": 0, "thumbs_down": 1}
    assert [p.question for p in log.pending()] == ["옛 질문"]
    new = log.record("새 질문", answered=False, entry_id=None, confidence=0.1, session="s")
    assert new == 2 and [t.question for t in log.turns("s")] == ["새 질문"]
    log.feedback(1, 1)  # one rating per question from now on: the 👎 is replaced
    assert log.pending()[0].reason == "unanswered"
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("SELECT version FROM schema_version WHERE component='questions'").fetchone() == (2,)
        assert db.execute("SELECT COUNT(*) FROM feedback").fetchone() == (1,)


def test_migrations_build_the_same_schema_on_both_backends(database_url: str) -> None:
    QuestionLog(database_url)
    storage.connect(database_url, storage.CACHE)
    with storage.transaction(database_url) as db:
        versions = dict(db.execute(select(storage.schema_version.c.component, storage.schema_version.c.version)).all())
        columns = {t: [c["name"] for c in db.dialect.get_columns(db, t)] for t in ("questions", "feedback", "reports")}
        assert db.execute(select(func.count()).select_from(storage.questions)).scalar() == 0
    assert versions == {"questions": storage.QUESTIONS.version, "cache": storage.CACHE.version}
    for table in (storage.questions, storage.feedback, storage.reports):
        assert sorted(columns[table.name]) == sorted(table.c.keys())


def test_a_database_newer_than_the_code_is_refused(database_url: str) -> None:
    QuestionLog(database_url)
    with storage.transaction(database_url, write=True) as db:
        db.execute(storage.schema_version.update().values(version=99))
    storage.dispose(database_url)  # a new process
    with pytest.raises(StorageUnavailable, match="newer than this coursebot"):
        QuestionLog(database_url)


def test_bad_database_urls_are_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(SettingInvalid, match="COURSEBOT_DATABASE_URL must start with"):
        Settings.from_env({"COURSEBOT_DATABASE_URL": "mysql://root:secret@db/x"})
    with pytest.raises(SettingInvalid) as bad:
        QuestionLog("mysql://root:secret@db/x")
    assert "secret" not in str(bad.value)
    unreachable = f"postgresql://coursebot:secret@/nowhere?host={tmp_path}"
    with pytest.raises(StorageUnavailable) as down:
        QuestionLog(unreachable)
    assert "secret" not in str(down.value) and "COURSEBOT_DATABASE_URL" in str(down.value)
    storage.dispose(unreachable)


def test_default_log_is_the_sqlite_file_in_the_data_folder(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var")
    assert settings.log_url == f"sqlite:///{tmp_path / 'var' / 'questions.sqlite'}"
    QuestionLog(settings.log_url).record("q", answered=False, entry_id=None, confidence=0.0)
    assert settings.log_path.exists()
    pg = Settings.from_env({"COURSEBOT_DATABASE_URL": "postgresql://app@db.example/coursebot"})
    assert pg.log_url == "postgresql://app@db.example/coursebot"


WRITER = """
import sys, time
from kb.qlog import QuestionLog
url, tag, n, start = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
log = QuestionLog(url)
time.sleep(max(0.0, start - time.time()))
for i in range(n):
    qid = log.record(f"{tag} 질문 {i}", answered=i % 2 == 0, entry_id="e", confidence=0.5, session=tag,
                     context={"i": i}, answer={"text": f"{tag} {i}"})
    log.feedback(qid, 0)
    log.feedback(qid, i % 2)
"""


def test_two_app_processes_writing_at_once_lose_nothing(database_url: str) -> None:
    QuestionLog(database_url)  # migrated once; the writers find it ready
    n, start = 150, time.time() + 2.0
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, database_url, tag, str(n), str(start)],
                              cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for tag in ("a", "b")]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1].decode()[-2000:] for o in outputs]
    log = QuestionLog(database_url)
    for tag in ("a", "b"):
        turns = log.turns(tag, limit=10 * n)
        assert [t.question for t in turns] == [f"{tag} 질문 {i}" for i in range(n)]
        assert [t.context for t in turns] == [{"i": i} for i in range(n)]
    assert log.counts() == {"questions": 2 * n, "answered": n, "thumbs_up": n, "thumbs_down": n}
    assert sum(p.times for p in log.pending(limit=10 * n) if p.reason == "disliked") == n
