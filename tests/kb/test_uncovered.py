"""Topics the entries do not cover (kb/not_covered.yaml): the file, its place in the index, and what a
declined student reads."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from ingest.index import build, load_index, open_index
from kb.calibration import Calibration
from kb.core.errors import EntryInvalid
from kb.core.settings import PROJECT_ROOT, Settings
from kb.core.store import load_entries
from kb.core.uncovered import UNCOVERED_FILE, load_uncovered, uncovered_stamp
from kb.search import Searcher

THRESHOLD = Settings().abstain_threshold
TOPIC = {"id": "model-saving", "title": "모델 저장과 불러오기", "title_en": "Saving and loading models",
         "examples": ["학습 끝난 모델 저장하는 법", "How do I save a trained Keras model?"]}


@pytest.fixture(scope="module")
def searcher(built_index: Settings) -> Searcher:
    return Searcher(load_index(built_index))


def test_the_shipped_bank_is_valid_and_asks_nothing_an_entry_asks() -> None:
    topics = load_uncovered()
    assert len(topics) >= 60 and sum(len(t.examples) for t in topics) >= 300
    entries = load_entries(PROJECT_ROOT / "kb" / "entries")
    ids = {e.id for e in entries}
    asked = {text.strip().lower() for e in entries for text in (e.question, *e.paraphrases)}
    assert not ids & {t.id for t in topics}
    assert not asked & {x.strip().lower() for t in topics for x in t.examples}


@pytest.mark.parametrize(("change", "where"), [
    (lambda t: t.pop("title_en"), "topic 'model-saving': field 'title_en' field required"),
    (lambda t: t.update(examples=[]), "topic 'model-saving': field 'examples' list should have at least 1 item"),
    (lambda t: t.update(id="Model Saving"), "topic 'Model Saving': field 'id' string should match pattern"),
    (lambda t: t.update(examples=["교수님 연락처 010-1234-5678 맞나요?"]),
     "topic 'model-saving': field '(topic)' contains personal data (010…)"),
    (lambda t: t.update(colour="red"), "topic 'model-saving': field 'colour' extra inputs are not permitted"),
])
def test_a_malformed_topic_is_refused_naming_the_topic_and_field(tmp_path: Path, change: object, where: str) -> None:
    topic = dict(TOPIC)
    change(topic)  # type: ignore[operator]
    path = tmp_path / "not_covered.yaml"
    path.write_text(yaml.safe_dump({"topics": [topic]}, allow_unicode=True), encoding="utf-8")
    with pytest.raises(EntryInvalid) as caught:
        load_uncovered(path)
    message = str(caught.value)
    assert message.lower().startswith(f"not_covered.yaml, {where}".lower()) and "\n" not in message, message


def test_repeated_ids_and_unreadable_yaml_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "not_covered.yaml"
    path.write_text(yaml.safe_dump({"topics": [TOPIC, TOPIC]}, allow_unicode=True), encoding="utf-8")
    with pytest.raises(EntryInvalid, match="repeated: model-saving"):
        load_uncovered(path)
    path.write_text("topics: [\n", encoding="utf-8")
    with pytest.raises(EntryInvalid, match="cannot be read as YAML"):
        load_uncovered(path)
    assert load_uncovered(tmp_path / "absent.yaml") == [] and uncovered_stamp(tmp_path / "absent.yaml") is None


def test_a_bad_bank_stops_ingest_with_one_sentence_and_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "not_covered.yaml"
    bad.write_text(yaml.safe_dump({"topics": [{**TOPIC, "title_en": ""}]}, allow_unicode=True), encoding="utf-8")
    env = {"COURSEBOT_DATA_DIR": str(tmp_path / "var"), "COURSEBOT_UNCOVERED_FILE": str(bad),
           "COURSEBOT_EMBEDDER": "none", "PATH": "/usr/bin:/bin"}
    got = subprocess.run([sys.executable, "-m", "kb", "ingest"], env=env, capture_output=True, text=True,
                         cwd=PROJECT_ROOT, timeout=120)
    assert got.returncode != 0 and "Traceback" not in got.stderr + got.stdout
    assert "not_covered.yaml, topic 'model-saving': field 'title_en'" in got.stderr + got.stdout
    assert not (tmp_path / "var" / "index").exists() or not list((tmp_path / "var" / "index").glob("g*"))


def test_the_index_holds_the_examples_and_is_rebuilt_when_the_file_changes(tmp_path: Path) -> None:
    bank = tmp_path / "not_covered.yaml"
    shutil.copy(UNCOVERED_FILE, bank)
    entries = tmp_path / "entries"   # a few entries: this is about the bank's files, not about answers
    entries.mkdir()
    for name in ("return-sequences", "lstm-params-formula", "conv1d-basics"):
        shutil.copy(PROJECT_ROOT / "kb" / "entries" / f"{name}.yaml", entries)
    settings = Settings(data_dir=tmp_path / "var", entries_dir=entries, uncovered_file=bank)
    build(settings)
    index = load_index(settings)
    view = index.uncovered
    assert view is not None and view.dense is not None and view.sentence is not None
    assert len(view.rows) == sum(len(t.examples) for t in load_uncovered(bank))
    assert index.manifest["uncovered"] == uncovered_stamp(bank)
    assert open_index(settings).path == index.path             # nothing changed: no rebuild
    with bank.open("a", encoding="utf-8") as out:
        out.write(yaml.safe_dump([{**TOPIC, "id": "added-topic", "examples": ["새로 넣은 예시 질문"]}],
                                 allow_unicode=True).replace("- ", "  - ", 1).replace("\n  ", "\n    "))
    rebuilt = open_index(settings)
    assert rebuilt.path != index.path and rebuilt.uncovered is not None
    assert rebuilt.uncovered.topics[-1].id == "added-topic"
    bank.unlink()
    assert open_index(settings).uncovered is None                 # the file removed: no view, no features


@pytest.mark.parametrize(("question", "topic"), [
    ("학습 끝난 LSTM 모델을 .keras 파일로 저장했다가 다시 불러오려면 어떻게 해요?", "model-saving"),
    ("How do I stop training early when val_loss stops improving?", "early-stopping"),
])
def test_a_near_miss_is_declined_and_names_its_topic(searcher: Searcher, question: str, topic: str) -> None:
    result = searcher.search(question, threshold=THRESHOLD)
    assert not result.answered, (result.confidence, result.features)
    assert result.uncovered is not None and topic in result.uncovered.id


@pytest.mark.parametrize("question", [
    "LSTM(64) 다음 Dense(1)이면 파라미터가 몇 개예요?",
    "Why does Bidirectional double the output size?",
])
def test_a_covered_question_names_no_uncovered_topic(searcher: Searcher, question: str) -> None:
    result = searcher.search(question, threshold=THRESHOLD)
    assert result.answered and result.uncovered is None
    assert result.features["uncovered_sentence"] < result.features["sentence_best"]


def test_a_missing_feature_reads_as_its_mean() -> None:
    model = Calibration(config="x", features=["a", "b"], mean=[0.5, 2.0], scale=[1.0, 1.0], coef=[1.0, -3.0],
                        intercept=0.1)
    assert model.predict({"a": 0.7}) == model.predict({"a": 0.7, "b": 2.0})
    assert model.predict({"a": 0.7, "b": 3.0}) < model.predict({"a": 0.7})


def test_the_declined_answer_names_the_topic_in_the_student_s_language(built_index: Settings) -> None:
    from kb.answer import Answerer

    answerer = Answerer(built_index, index=load_index(built_index), log=False)
    ko = answerer.answer("학습 끝난 모델을 h5 말고 .keras로 저장했다가 load_model로 불러오려면?", verify=False)
    en = answerer.answer("How do I save my trained model to a .keras file and load it again?", verify=False)
    assert not ko.answered and ko.uncovered is not None and ko.uncovered.id == "model-saving"
    assert ko.answer.startswith(f"이 질문은 **{ko.uncovered.title}** 주제로 보이는데") and "coursebot은 Keras로" in ko.answer
    assert "자신 있게 답할 내용을 찾지 못했습니다" not in ko.answer   # the topic's sentence replaces the lead
    assert not en.answered and en.answer.startswith("This looks like a question about **Saving and loading models**")


SAVING_ENTRY = """id: model-saving
title: 학습한 모델 저장하고 불러오기
lang: ko
question: 학습이 끝난 Keras 모델을 파일로 저장했다가 다시 불러오려면 어떻게 하나요?
paraphrases:
  - model.save랑 load_model 쓰는 법
  - How do I save a trained Keras model and load it later?
answer: |
  `model.save("model.keras")`로 구조와 가중치, 옵티마이저 상태를 한 파일에 저장하고
  `keras.models.load_model("model.keras")`로 불러옵니다. 가중치만 필요하면 `save_weights`를 씁니다.
"""


def test_an_entry_with_a_topic_s_id_covers_it_without_embedding_the_bank_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The instructors' loop: a gap that looked like an uncovered topic gets an entry with the topic's
    id (added in place, as `coursebot add` and the instructor page do), and the index stops counting the
    topic as uncovered, keeping the other topics' vectors as they were."""
    from ingest import uncovered_view
    from ingest.index import upsert_entry
    from kb.core.store import load_entry

    entries = tmp_path / "entries"
    shutil.copytree(PROJECT_ROOT / "kb" / "entries", entries)
    settings = Settings(data_dir=tmp_path / "var", entries_dir=entries)
    build(settings)
    before = load_index(settings).uncovered
    assert before is not None and before.sentence is not None and before.dense is not None
    (entries / "model-saving.yaml").write_text(SAVING_ENTRY, encoding="utf-8")

    def refuse(*args: object) -> None:
        raise AssertionError("the bank was embedded again")

    monkeypatch.setattr(uncovered_view, "_dense", refuse)
    monkeypatch.setattr(uncovered_view, "_sentence", refuse)
    uncovered_view._MEMO.clear()
    upsert_entry(settings, load_entry(entries / "model-saving.yaml"))
    index = load_index(settings)
    after = index.uncovered
    assert after is not None and after.sentence is not None and after.dense is not None
    ids = [t.id for t in after.topics]
    assert "model-saving" not in ids and ids == [t.id for t in before.topics if t.id != "model-saving"]
    kept = before.rows != [t.id for t in before.topics].index("model-saving")
    assert np.array_equal(after.sentence, before.sentence[kept]) and np.array_equal(after.dense, before.dense[kept])
    result = Searcher(index).search("학습 끝난 LSTM 모델을 .keras 파일로 저장했다가 다시 불러오려면 어떻게 해요?",
                                    threshold=THRESHOLD)
    assert result.answered and result.hits[0].id == "model-saving" and result.uncovered is None
    assert result.features["uncovered_sentence"] < result.features["sentence_best"]


@pytest.mark.parametrize("question", ["이 코드 왜 안 끝나요?\nwhile True:\n    pass", "오늘 날씨 어때?", "asdfgh jkl"])
def test_a_question_far_from_everything_is_named_after_no_topic(searcher: Searcher, question: str) -> None:
    """Nearer to an uncovered topic than to any entry is not enough when it is near neither: the
    browser walk's infinite loop was declined as a question about beam search."""
    result = searcher.search(question, threshold=THRESHOLD)
    assert not result.answered and result.uncovered is None, result.features


def test_without_the_sentence_view_no_topic_is_named_and_a_missing_half_is_no_feature(built_index: Settings) -> None:
    """e5's cosines are high for anything: only USE's nearness names a topic; a half the bank lacks
    is left out of the features (the model then reads it as its mean), never passed on as 0."""
    from ingest.uncovered_view import Nearest, TopicTitle
    from kb.rerank_features import uncovered_features

    searcher = Searcher(load_index(built_index))
    searcher.sentence = None   # as with an index built without the view, or the encoder not installed
    result = searcher.search("학습 끝난 LSTM 모델을 .keras 파일로 저장했다가 다시 불러오려면 어떻게 해요?")
    assert result.uncovered is None and "uncovered_dense" in result.features
    topic = TopicTitle("t", "제목", "Title")
    assert uncovered_features(Nearest(0.9, None, None)) == {"uncovered_dense": 0.9}
    assert uncovered_features(Nearest(None, 0.6, topic)) == {"uncovered_sentence": 0.6}
    assert uncovered_features(None) == {}


def test_every_topic_s_title_renders_bold_in_the_decline() -> None:
    """CommonMark does not close "**… (warmup)**에" (punctuation before, a letter after): the sentence
    keeps a space after the bold. Rendered here with a real CommonMark renderer, every title, both languages."""
    from markdown_it import MarkdownIt

    from kb.messages import say

    render = MarkdownIt("commonmark").render
    for topic in load_uncovered():
        for lang, title in (("ko", topic.title), ("en", topic.title_en)):
            html = render(say(lang, "not_covered_topic", title=title))  # type: ignore[arg-type]
            assert "**" not in html and "<strong>" in html, (topic.id, lang, html)
