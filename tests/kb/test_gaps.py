"""Coverage gaps from a real question log, clustered with the real e5 embedder."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import yaml

from kb.core.settings import PROJECT_ROOT, Settings
from kb.gaps import find_gaps
from kb.qlog import QuestionLog

PYTORCH = ["파이토치로 LSTM 만드는 법", "PyTorch에서 LSTM 구현 방법", "파이토치 LSTM 예제"]
ATTENTION = ["Attention 레이어 파라미터 수", "어텐션 레이어 파라미터 몇 개?",
             "from tensorflow.keras.layers import MultiHeadAttention\nx = MultiHeadAttention(2, 8)\n어텐션 파라미터"]


def _log(settings: Settings) -> QuestionLog:
    log = QuestionLog(settings.log_url)
    for q in PYTORCH + PYTORCH[:1]:
        log.record(q, answered=False, entry_id=None, confidence=0.1)
    for q in ATTENTION:
        log.record(q, answered=False, entry_id=None, confidence=0.2)
    disliked = log.record("김치찌개 끓이는 법", answered=True, entry_id="return-sequences", confidence=0.6)
    log.feedback(disliked, 0)
    log.record("파이토치 LSTM 예제", answered=False, entry_id=None, confidence=0.1, audience="instructor")
    log.record("파이토치 LSTM 예제 010-1234-5678", answered=False, entry_id=None, confidence=0.1, refused="pii")
    return log


def test_questions_are_grouped_by_topic_most_asked_first_with_a_draft(settings: Settings) -> None:
    gaps = find_gaps(settings, log=_log(settings))
    groups = [sorted(q.question for q in g.questions) for g in gaps.groups]
    assert groups == [sorted(PYTORCH), sorted(ATTENTION), ["김치찌개 끓이는 법"]]
    assert [g.count for g in gaps.groups] == [4, 3, 1]           # instructor and refused ones left out
    assert "파이토치" in gaps.groups[0].label and "어텐션" in gaps.groups[1].label
    assert "LSTM" in gaps.groups[0].label.split() and "lstm" not in gaps.groups[0].label   # as students wrote it
    draft = yaml.safe_load(gaps.groups[1].draft)
    assert draft["question"] and len(draft["paraphrases"]) == 2 and "어텐션" in draft["tags"]
    assert draft["verify"][0]["code"].startswith("from tensorflow.keras.layers import MultiHeadAttention")
    assert gaps.groups[2].questions[0].reason == "disliked"
    assert all(g.topic is None for g in gaps.groups)   # no index in this data folder: no topics


# one group by e5 (same topic >= 0.91); two of the four are nearest to model-saving's examples, one each
# to plot-model's and savedmodel-serving's: the topic most of the group's asks look like wins
SAVING = ["모델 저장은 어떻게 해요?", "모델 저장 어떻게 해요", "모델 저장하는 방법 알려주세요", "학습한 모델 저장 방법"]


def test_a_group_that_looks_like_an_uncovered_topic_drafts_the_entry_that_covers_it(built_index: Settings,
                                                                                    settings: Settings) -> None:
    """The loop: declined questions about saving models are grouped, named after the uncovered topic,
    and drafted with the topic's id (an entry with that id takes the topic out of the index's bank)."""
    log = QuestionLog(settings.log_url)   # a log of its own, beside the shared index
    for q in SAVING + PYTORCH:
        log.record(q, answered=False, entry_id=None, confidence=0.0)
    gaps = find_gaps(built_index, log=log)
    by_questions = {frozenset(q.question for q in g.questions): g for g in gaps.groups}
    saving = by_questions[frozenset(SAVING)]
    assert saving.topic is not None and saving.topic.id == "model-saving"
    draft = yaml.safe_load(saving.draft)
    assert (draft["id"], draft["title"], draft["title_en"]) == ("model-saving", saving.topic.title, saving.topic.title_en)
    assert by_questions[frozenset(PYTORCH)].topic is None   # another framework: no topic of the field's list


def test_gaps_cli_json(settings: Settings) -> None:
    _log(settings)
    env = {**os.environ, "COURSEBOT_DATA_DIR": str(settings.data_dir)}
    out = subprocess.run([sys.executable, "-m", "kb", "gaps", "--json"], capture_output=True, text=True,
                         env=env, cwd=PROJECT_ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert [set(g) for g in data["groups"]] == [{"label", "count", "questions", "draft", "topic"}] * 3
    assert data["groups"][0]["count"] == 4 and isinstance(data["groups"][0]["draft"], str)
    text = subprocess.run([sys.executable, "-m", "kb", "gaps"], capture_output=True, text=True,
                          env=env, cwd=PROJECT_ROOT, timeout=300)
    assert text.returncode == 0 and "파이토치" in text.stdout and "draft entry" in text.stdout
