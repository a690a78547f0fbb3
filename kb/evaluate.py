"""Retrieval quality on a question set (``coursebot eval``).

Question lines (JSONL): ``{"q": ..., "expect_ids": [...]?, "expect_sources": [...]?,
"out_of_scope": true?, "kind": "..."?}``. A hit counts when its entry id is in ``expect_ids`` or
one of its sources starts with one of ``expect_sources``. Reported: entry-level hit@1/hit@3 and
MRR, document hit@1 (the top hit cites a document of an expected entry), false abstention, and
the share of out-of-scope questions declined (refused or abstained) per ``kind``. Refusals
(:mod:`kb.refusals`) run first, as in the answerer. Fitting and comparing configurations live in
:mod:`kb.calibrate`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kb.core.errors import UsageError
from kb.search import Searcher


@dataclass(frozen=True)
class Question:
    q: str
    expect_ids: tuple[str, ...] = ()
    expect_sources: tuple[str, ...] = ()
    out_of_scope: bool = False
    kind: str = ""

    def matches(self, hit_id: str, sources: list[str]) -> bool:
        if hit_id in self.expect_ids:
            return True
        return any(s.startswith(p) for s in sources for p in self.expect_sources)


def load_questions(path: Path) -> list[Question]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"Cannot read {path}: {exc}.") from None
    out = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if not isinstance(data, dict) or not isinstance(data.get("q"), str) or not data["q"].strip():
                raise ValueError("needs a non-empty \"q\" string")
            question = Question(q=data["q"], expect_ids=tuple(data.get("expect_ids") or ()),
                                expect_sources=tuple(data.get("expect_sources") or ()),
                                out_of_scope=bool(data.get("out_of_scope", False)),
                                kind=str(data.get("kind") or ""))
        except (ValueError, TypeError) as exc:
            raise UsageError(f"{path.name} line {n} is not a valid question line ({exc}).") from None
        if not question.out_of_scope and not question.expect_ids and not question.expect_sources:
            raise UsageError(f"{path.name} line {n} has neither expect_ids, expect_sources nor out_of_scope.")
        out.append(question)
    if not out:
        raise UsageError(f"{path.name} has no questions.")
    return out


def evaluate(searcher: Searcher, questions: list[Question], *, threshold: float, k: int = 3) -> dict[str, Any]:
    from kb.refusals import check

    results = []
    ranks: list[int | None] = []
    doc_hits = answered_in = n_in = 0
    declined_by_kind: dict[str, list[bool]] = {}
    took = []
    for question in questions:
        t0 = time.perf_counter()
        refusal = check(question.q)
        res = searcher.search(question.q, k=max(k, 10), threshold=threshold) if refusal is None else None
        took.append((time.perf_counter() - t0) * 1000)
        hits = res.hits if res is not None else []
        answered = res is not None and res.answered
        rank = None
        if not question.out_of_scope:
            n_in += 1
            answered_in += answered
            rank = next((i + 1 for i, h in enumerate(hits) if question.matches(h.id, h.sources)), None)
            ranks.append(rank)
            doc_hits += bool(hits) and _cites_expected(searcher, question, hits[0].sources)
        else:
            declined_by_kind.setdefault(question.kind or "other", []).append(not answered)
        results.append({"q": question.q, "kind": question.kind, "answered": answered,
                        "refused": refusal.kind.value if refusal else None,
                        "confidence": round(res.confidence, 4) if res else 0.0,
                        "out_of_scope": question.out_of_scope, "rank": rank,
                        "hits": [{"id": h.id, "sources": h.sources, "score": round(h.score, 4)}
                                 for h in hits[:k]]})
    declined = [d for ds in declined_by_kind.values() for d in ds]
    metrics = {
        "questions": len(questions), "in_scope": n_in, "out_of_scope": len(declined),
        "hit@1": _ratio(sum(r == 1 for r in ranks), n_in),
        "hit@3": _ratio(sum(r is not None and r <= 3 for r in ranks), n_in),
        "doc_hit@1": _ratio(doc_hits, n_in),
        "mrr": round(sum(1 / r for r in ranks if r) / n_in, 4) if n_in else None,
        "abstention": _ratio(sum(declined), len(declined)),
        "false_abstention": _ratio(n_in - answered_in, n_in),
        "abstention_by_kind": {kind: _ratio(sum(ds), len(ds)) for kind, ds in sorted(declined_by_kind.items())},
        "search_ms_p50": round(float(np.percentile(took, 50)), 2),
    }
    return {"metrics": metrics, "results": results}


def _cites_expected(searcher: Searcher, question: Question, sources: list[str]) -> bool:
    """Document-level hit: the top hit cites a document one of the expected entries cites."""
    wanted: set[str] = set()
    for entry_id in question.expect_ids:
        i = searcher.index.by_key.get(f"entry:{entry_id}")
        if i is not None:
            wanted.update(searcher.index.records[i].sources)
    return bool(wanted & set(sources)) or any(s.startswith(p) for s in sources for p in question.expect_sources)


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None
