"""Coverage gaps: the students' unanswered and 👎-rated questions, grouped by topic, each group with
a draft entry an instructor can finish and save.

Questions come from :meth:`kb.qlog.QuestionLog.pending` (refused questions and instructors' test
questions are left out there). They are embedded with the project's embedder (the one the index
uses), grouped by agglomerative clustering on cosine distance, and each group is labelled by its
most telling words: the tokens (Kiwi morphemes / Latin words, as BM25 sees them) that are frequent
in the group and rare in the other groups (tf-idf over groups). Groups are ordered by how often
their questions were asked.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel

from kb.core.settings import Settings
from kb.qlog import Pending, QuestionLog
from kb.search_types import NearTopic

if TYPE_CHECKING:
    from ingest.embed import Embedder
    from kb.search import Searcher

DISTANCE = 0.1         # average cosine distance under which questions are one topic (e5: same topic >= 0.91)
LABEL_WORDS = 3
TOPIC_VOTES = 4   # questions per group searched for the uncovered topic it looks like
CODE_WORDS = frozenset({"import", "from", "tensorflow", "keras", "layers", "models", "model", "input", "shape",
                        "none", "add", "true", "false", "x", "y"})


class GapQuestion(BaseModel):
    question: str
    times: int
    reason: str


class GapGroup(BaseModel):
    label: str
    count: int                 # how many times its questions were asked
    questions: list[GapQuestion]
    draft: str                 # entry YAML prefilled from the questions
    topic: NearTopic | None = None   # the uncovered topic (kb/not_covered.yaml) most of its questions look like


class Gaps(BaseModel):
    groups: list[GapGroup]


def _embed(texts: list[str], settings: Settings, embedder: Embedder | None) -> list[list[float]] | None:
    if embedder is None and settings.embedder != "none":
        from ingest.embed import get_embedder

        embedder = get_embedder(settings.embedder)
    if embedder is None:
        return None
    from kb.answer import extract_code

    vectors: list[list[float]] = []
    for text in texts:
        code, rest = extract_code(text)      # a pasted snippet's topic is in the words around it
        vectors.append(embedder.embed_query(rest if code is not None and rest else text))
    return vectors


def _clusters(texts: list[str], settings: Settings, embedder: Embedder | None) -> list[int]:
    if len(texts) < 2:
        return [0] * len(texts)
    vectors = _embed(texts, settings, embedder)
    if vectors is None:        # BM25-only setup: exact texts stay apart
        return list(range(len(texts)))
    from sklearn.cluster import AgglomerativeClustering

    model = AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average",
                                    distance_threshold=DISTANCE)
    return [int(c) for c in model.fit_predict(vectors)]


def _words(text: str, settings: Settings) -> list[str]:
    from ingest.tokens import tokenize
    from kb.answer import extract_code

    code, rest = extract_code(text)
    words = tokenize(rest if code is not None else text, settings.tokenizer)
    # Short Latin pieces ("py" of PyTorch) tell nothing; Korean words of two syllables do.
    return [w for w in words if len(w) > (2 if w.isascii() else 1) and w.lower() not in CODE_WORDS
            and not w.isdigit()]


def _labels(groups: list[list[Pending]], settings: Settings) -> list[list[str]]:
    counts = [Counter(w for p in g for w in _words(p.question, settings) for _ in range(p.times)) for g in groups]
    df = Counter(w for c in counts for w in c)
    out = []
    for group, c in zip(groups, counts, strict=True):
        scored = sorted(c, key=lambda w: (-c[w] * math.log(1 + len(groups) / df[w]), w))
        out.append(_as_written(scored[:LABEL_WORDS], [p.question for p in group]))
    return out


def _as_written(words: list[str], texts: list[str]) -> list[str]:
    """Latin tokens (lower-cased for BM25) as the students wrote them most often: "LSTM", "PyTorch"."""
    spellings = Counter(m.group(0) for t in texts for m in re.finditer(r"[A-Za-z][A-Za-z0-9_]*", t))
    written: dict[str, str] = {}
    for spelling, _ in spellings.most_common():
        written.setdefault(spelling.lower(), spelling)
    return [written.get(w, w) if w.isascii() else w for w in words]


def _slug(words: list[str], n: int) -> str:
    ascii_words = [re.sub(r"[^a-z0-9]+", "-", w.lower()).strip("-") for w in words]
    slug = "-".join(w for w in ascii_words if w)
    return f"gap-{slug}"[:60].rstrip("-") if slug else f"gap-topic-{n + 1}"


def draft_entry(questions: list[Pending], words: list[str], n: int, topic: NearTopic | None = None) -> str:
    """An entry YAML prefilled from a group: the most asked question, the others as paraphrases, any
    pasted code as a verify snippet, the label's words as tags. The instructor writes the answer. A
    group that looks like an uncovered topic gets the topic's id and titles: saved, the entry covers it."""
    from kb.answer import extract_code

    texts = [p.question for p in questions]
    plain, snippets = [], []
    for text in texts:
        code, rest = extract_code(text)
        if code is not None:
            snippets.append(code)
        plain.append((rest if code is not None else text).strip() or text.strip())
    unique = list(dict.fromkeys(t for t in plain if t))
    entry: dict[str, Any] = {
        "id": topic.id if topic else _slug(words, n),
        "title": topic.title if topic else " ".join(words) if words else unique[0][:60],
        **({"title_en": topic.title_en} if topic else {}),
        "lang": "ko",
        "tags": words,
        "question": unique[0],
        "paraphrases": unique[1:],
        "answer": "TODO: 강사가 답을 씁니다. 숫자를 적으면 claims로 스니펫과 묶으세요.",
        "sources": [],
    }
    if snippets:
        entry["verify"] = [{"name": f"pasted-{i + 1}", "code": code.rstrip() + "\n", "expect": {"ok": True}}
                           for i, code in enumerate(dict.fromkeys(snippets))]
    return yaml.safe_dump(entry, allow_unicode=True, sort_keys=False, width=1000)


def _searcher(settings: Settings, embedder: Embedder | None) -> Searcher | None:
    from ingest.index import load_index
    from kb.core.errors import CoursebotError
    from kb.search import Searcher

    try:
        return Searcher(load_index(settings), embedder)
    except CoursebotError:   # no index yet: the groups are still found, without topics
        return None


def _topic(group: list[Pending], searcher: Searcher | None) -> NearTopic | None:
    """The uncovered topic that at least half of the asks of the group's most asked questions look like
    (by the search's rule: nearer to the topic's examples than to any entry, and near enough)."""
    if searcher is None or searcher.index.uncovered is None:
        return None
    votes: Counter[str] = Counter()
    topics: dict[str, NearTopic] = {}
    for p in group[:TOPIC_VOTES]:   # the most asked ones: a page of gaps stays a few searches per group
        near = searcher.search(p.question, k=1).uncovered
        if near is not None:
            votes[near.id] += p.times
            topics[near.id] = near
    if not votes:
        return None
    best, times = votes.most_common(1)[0]
    return topics[best] if 2 * times >= sum(p.times for p in group[:TOPIC_VOTES]) else None


def find_gaps(settings: Settings, *, log: QuestionLog | None = None, embedder: Embedder | None = None,
              searcher: Searcher | None = None, limit: int = 200) -> Gaps:
    """Pending questions grouped by topic, most asked first; ``searcher`` (else one over the index, if
    there is one) tells which groups look like a topic of ``kb/not_covered.yaml``."""
    log = log or QuestionLog(settings.log_url)
    pending = log.pending(limit=limit)
    if not pending:
        return Gaps(groups=[])
    if searcher is None:
        searcher = _searcher(settings, embedder)
        embedder = embedder or (searcher.embedder if searcher is not None else None)
    ids = _clusters([p.question for p in pending], settings, embedder)
    by_cluster: dict[int, list[Pending]] = {}
    for p, c in zip(pending, ids, strict=True):
        by_cluster.setdefault(c, []).append(p)
    groups = sorted(by_cluster.values(), key=lambda g: (-sum(p.times for p in g), g[0].question))
    labels = _labels(groups, settings)
    out = []
    for n, (group, words) in enumerate(zip(groups, labels, strict=True)):
        group = sorted(group, key=lambda p: (-p.times, p.question))
        topic = _topic(group, searcher)
        out.append(GapGroup(
            label=" · ".join(words) if words else group[0].question[:40],
            count=sum(p.times for p in group),
            questions=[GapQuestion(question=p.question, times=p.times, reason=p.reason) for p in group],
            draft=draft_entry(group, words, n, topic), topic=topic))
    return Gaps(groups=out)
