"""What a student gets back: a cited answer, backed by verified Keras results.

``Answerer.answer(question)`` searches the index, takes the best entry's answer, its sources and
related hits, and attaches the *verifications* of the entry's snippets (real shapes and params
per Keras version, with every claimed number marked ✓ or ✗). A question that contains Keras code
(a fenced block, or lines that parse as Python and call Keras) has that code built in the sandbox
too; when it fails, the error is explained and used to find the entry that explains it. Pasted
error text alone (a traceback or ``ValueError: ...`` line) is searched on its message.

The CLI and ``app.py`` only render the :class:`Answer`; nothing here imports TensorFlow (the
verifier runs Keras in its own worker processes) or Streamlit.
"""

from __future__ import annotations

import ast
import contextlib
import re
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from kb.core.errors import CoursebotError
from kb.core.settings import Settings
from kb.core.sources import Citation, SourceDoc, cite, load_sources
from kb.search import Hit, Searcher

Audience = Literal["student", "instructor"]

NOT_COVERED = (
    "이 질문은 강의 지식 베이스에서 자신 있게 답할 내용을 찾지 못했습니다. "
    "coursebot은 Keras로 배우는 딥러닝/NLP 강의 내용(RNN·LSTM·GRU, Bidirectional, Conv1D, "
    "Embedding, TimeDistributed, return_sequences, 파라미터 수와 출력 shape 등)을 다룹니다. "
    "레이어 이름이나 오류 메시지를 넣어 다시 물어보거나, Keras 코드를 붙여 넣으면 직접 실행해 shape과 "
    "파라미터를 보여 드립니다. 강의 운영(일정, 과제, 출석) 문의는 강사에게 해 주세요."
)

KERAS_NAMES = re.compile(
    r"\b(Sequential|Model|Input|Dense|LSTM|GRU|SimpleRNN|Conv1D|Conv2D|Embedding|Bidirectional|"
    r"TimeDistributed|Dropout|Flatten|MaxPooling1D|AveragePooling1D|GlobalMaxPooling1D|"
    r"GlobalAveragePooling1D|Concatenate|concatenate|keras|layers)\b")
FENCE = re.compile(r"```(?:python|py)?\s*\n(.*?)```", re.DOTALL)
ERROR_LINE = re.compile(r"\b([A-Z][A-Za-z]*(?:Error|Exception)):\s*(.+)")
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


@dataclass
class ClaimCheck:
    text: str            # the number as the answer writes it
    keras: str           # Keras major version checked
    actual: Any          # what Keras really gives
    ok: bool

    def as_json(self) -> dict[str, Any]:
        return {"text": self.text, "keras": self.keras, "actual": self.actual, "ok": self.ok}


@dataclass
class Verification:
    """One snippet's real results per Keras version (from an entry or pasted by the student)."""

    source: str                      # "entry" | "pasted"
    entry_id: str | None
    name: str
    code: str
    status: str                      # "verified" | "cached" | "not_verified" | "failed"
    runs: list[Any] = field(default_factory=list)        # VerifyReport per Keras version
    differences: list[str] = field(default_factory=list)
    claims: list[ClaimCheck] = field(default_factory=list)
    explanation: str = ""            # for a failing pasted snippet: the error in plain words
    message: str = ""                # why it is not verified, when it is not

    @property
    def ok(self) -> bool:
        return bool(self.runs) and all(r.ok for r in self.runs)

    def claims_by_text(self) -> list[tuple[str, bool, list[ClaimCheck]]]:
        """Claims grouped by the number the answer writes: (text, holds everywhere, per-version checks)."""
        groups: dict[str, list[ClaimCheck]] = {}
        for check in self.claims:
            groups.setdefault(check.text, []).append(check)
        return [(text, all(c.ok for c in checks), checks) for text, checks in groups.items()]

    def as_json(self) -> dict[str, Any]:
        return {"source": self.source, "entry": self.entry_id, "snippet": self.name, "code": self.code,
                "status": self.status, "ok": self.ok, "runs": [r.to_json() for r in self.runs],
                "differences": self.differences, "claims": [c.as_json() for c in self.claims],
                "explanation": self.explanation, "message": self.message}


@dataclass
class Answer:
    question: str
    answered: bool
    confidence: float
    title: str = ""
    text: str = ""                   # Markdown answer (or the not-covered message)
    entry_id: str | None = None
    sources: list[str] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)
    hit_answers: dict[str, str] = field(default_factory=dict)
    verifications: list[Verification] = field(default_factory=list)
    pasted: Verification | None = None
    error_text: str | None = None    # an error message found in the question (no code)
    took_ms: int = 0
    log_id: int | None = None
    citations: list[Citation] = field(default_factory=list)   # readable sources (ui helper)

    @property
    def related(self) -> list[Hit]:
        return [h for h in self.hits if h.id != self.entry_id]

    def as_json(self) -> dict[str, Any]:
        verifications = ([self.pasted] if self.pasted else []) + self.verifications
        return {
            "question": self.question,
            "answered": self.answered,
            "confidence": round(self.confidence, 4),
            "title": self.title,
            "answer": self.text,
            "entry": self.entry_id,
            "sources": self.sources,
            "hits": [{**h.as_json(), "answer": self.hit_answers.get(h.id, "")} for h in self.hits],
            "verifications": [v.as_json() for v in verifications],
            "error_text": self.error_text,
            "took_ms": self.took_ms,
            "log_id": self.log_id,
            "citations": [c.model_dump(mode="json") for c in self.citations],
        }


# -- finding code and errors in a question --------------------------------------------------------
STRINGS_AND_COMMENTS = re.compile(r"#.*$|'[^']*'|\"[^\"]*\"", re.M)
HANGUL = re.compile(r"[가-힣]")


def _is_keras_code(code: str) -> bool:
    # Python accepts Hangul identifiers, but a student's code has Hangul only in strings/comments.
    if HANGUL.search(STRINGS_AND_COMMENTS.sub("", code)):
        return False
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return False
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    if not calls or not KERAS_NAMES.search(code):
        return False
    structural = any(isinstance(n, (ast.Assign, ast.Import, ast.ImportFrom)) for n in ast.walk(tree))
    return structural or code.strip().count("\n") >= 1


def extract_code(question: str) -> tuple[str | None, str]:
    """(Keras code found in the question or None, the rest of the question)."""
    fenced = FENCE.findall(question)
    if fenced:
        code = "\n".join(block.strip("\n") for block in fenced)
        if code.strip():
            return code, FENCE.sub(" ", question).strip()
    lines = question.splitlines()
    best: tuple[int, int] | None = None
    for i in range(len(lines)):
        for j in range(len(lines), i, -1):
            if best and j - i <= best[1] - best[0]:
                break
            block = "\n".join(lines[i:j])
            if block.strip() and _is_keras_code(block):
                best = (i, j)
                break
    if best is None:
        return None, question
    code = "\n".join(lines[best[0]:best[1]])
    rest = "\n".join(lines[:best[0]] + lines[best[1]:]).strip()
    return code, rest


def extract_error(question: str) -> str | None:
    """The last ``SomethingError: message`` line in the question, if any."""
    found = ERROR_LINE.findall(question)
    if not found:
        return None
    kind, message = found[-1]
    return f"{kind}: {message.strip()}"


def explain_error(kind: str, message: str) -> str:
    for pattern, text in ERROR_HINTS:
        if pattern.search(message) or pattern.search(kind):
            return text
    return f"`{kind}` 오류가 났습니다: {message.splitlines()[0][:300] if message else ''}"


def with_prelude(code: str) -> tuple[str, int]:
    """Add the usual Keras imports to a pasted fragment that has none (students often omit them)."""
    if re.search(r"^\s*(import|from)\s", code, re.M):
        return code, 0
    return PRELUDE + code, PRELUDE.count("\n")


# -- the answerer -------------------------------------------------------------------------------
class Answerer:
    """Holds the index, the searcher, the entries and (lazily) the verifier. Reuse one per process."""

    def __init__(self, settings: Settings, *, index: Any = None, log: bool = True,
                 verifier: Any = None) -> None:
        from ingest.index import open_index

        self.settings = settings
        self.index = index if index is not None else open_index(settings)
        self.searcher = Searcher(self.index)
        self.log = None
        if log:
            from kb.qlog import QuestionLog

            self.log = QuestionLog(settings.log_url)
        self._verifier: Any = verifier
        self._own_verifier = verifier is None
        self._catalogue: dict[str, SourceDoc] | None = None

    def reload(self) -> None:
        """Pick up a changed index (after an entry was added)."""
        from ingest.index import open_index

        self.index = open_index(self.settings)
        self.searcher = Searcher(self.index, self.searcher.embedder)

    def warm_up(self) -> None:
        """Start the Keras workers in the background so the first pasted snippet does not wait."""
        import threading

        def start() -> None:
            # Best effort: a trivial snippet through the normal, locked path starts both workers;
            # a real failure is reported when a snippet is verified.
            with contextlib.suppress(Exception):
                self.verifier.verify("warm_up = 1\n", use_cache=False)

        threading.Thread(target=start, name="coursebot-warm-up", daemon=True).start()

    def refresh(self) -> None:
        """Switch to a newer index generation if one was written (an entry was added meanwhile)."""
        from ingest.index import current_generation

        if current_generation(self.settings.index_dir) != self.index.path:
            self.reload()

    @property
    def verifier(self) -> Any:
        if self._verifier is None:
            from verifiers import get_verifier

            self._verifier = get_verifier(self.settings)
        return self._verifier

    def _entry(self, entry_id: str) -> Any:
        from kb.core.store import load_entry

        path = self.settings.entries_dir / f"{entry_id}.yaml"
        try:
            return load_entry(path)
        except CoursebotError:
            return None

    @property
    def catalogue(self) -> dict[str, SourceDoc]:
        """The source catalogue (kb/sources.yaml), read once."""
        if self._catalogue is None:
            self._catalogue = load_sources()
        return self._catalogue

    def answer(self, question: str, *, k: int | None = None, verify: bool = True,
               session: str | None = None, audience: Audience = "student") -> Answer:
        started = time.perf_counter()
        self.refresh()
        k = k or self.settings.top_k
        question = question.strip()
        code, rest = extract_code(question)
        pasted = None
        query = question
        error_text = None
        if code is not None:
            pasted = self.verify_pasted(code) if verify else Verification(
                "pasted", None, "pasted", code, "not_verified", message="--no-verify: the pasted code was not run.")
            names = " ".join(sorted(set(KERAS_NAMES.findall(code)) - {"keras", "layers", "Model", "Input"}))
            failure = next((r.error for r in pasted.runs if r.error), None)
            query = " ".join(filter(None, [rest, f"{failure.type}: {failure.message}" if failure else "", names]))
        else:
            error_text = extract_error(question)
        result = self.searcher.search(query or question, k=k, threshold=self.settings.abstain_threshold)
        out = Answer(question=question, answered=result.answered, confidence=result.confidence,
                     hits=result.hits, pasted=pasted, error_text=error_text)
        entries = {h.id: self._entry(h.id) for h in result.hits if h.kind == "entry"}
        for hit in result.hits:
            entry = entries.get(hit.id)
            out.hit_answers[hit.id] = entry.answer if entry is not None else hit.chunk
        if result.answered and result.hits:
            best = result.hits[0]
            entry = entries.get(best.id)
            out.entry_id = best.id
            out.title = best.title
            out.sources = best.sources
            out.text = entry.answer if entry is not None else best.chunk
            if entry is not None:
                out.verifications = self.entry_verifications(entry, run=verify)
                out.citations = [cite(s.doc, s.note, self.catalogue) for s in entry.sources]
        else:
            out.text = NOT_COVERED
        out.took_ms = int((time.perf_counter() - started) * 1000)
        if self.log is not None:
            out.log_id = self.log.record(question, answered=out.answered, entry_id=out.entry_id,
                                         confidence=out.confidence, has_code=code is not None,
                                         took_ms=out.took_ms, session=session, audience=audience,
                                         answer=out.as_json())
        return out

    def verify_pasted(self, code: str) -> Verification:
        from verifiers import differences

        full, shift = with_prelude(code)
        try:
            runs = self.verifier.verify(full)
        except CoursebotError as exc:
            return Verification("pasted", None, "pasted", code, "failed", message=str(exc))
        for run in runs:
            if shift and run.error and run.error.line:
                run.error.line = max(1, run.error.line - shift)
            if shift and run.rejected and run.rejected.line:
                run.rejected.line = max(1, run.rejected.line - shift)
        v = Verification("pasted", None, "pasted", code, "verified", runs=runs,
                         differences=differences(runs[0], runs[1]) if len(runs) == 2 else [])
        rejected = next((r.rejected for r in runs if r.rejected), None)
        if rejected:
            syntax = rejected.reason.startswith("it is not valid Python")   # not a safety refusal (ui helper)
            v.explanation = (f"코드에 파이썬 문법 오류가 있어 실행하지 않았습니다{f' ({rejected.line}번째 줄)' if rejected.line else ''}: "
                             f"{rejected.reason.removeprefix('it is not valid Python').strip(' ()')}." if syntax else
                             f"이 코드는 안전 정책 때문에 실행하지 않았습니다: {rejected.reason}.")
        else:
            failed = [r for r in runs if r.error]
            if failed:
                err = failed[0].error
                assert err is not None
                where = f" ({err.line}번째 줄)" if err.line else ""
                versions = ", ".join(f"Keras {r.keras_major}" for r in failed)
                passed = [f"Keras {r.keras_major}" for r in runs if r.ok]
                v.explanation = (f"{versions}에서 `{err.type}`{where}: {explain_error(err.type, err.message)}"
                                 + (f" ({', '.join(passed)}에서는 오류 없이 실행됩니다.)" if passed else ""))
        return v

    def entry_verifications(self, entry: Any, *, run: bool) -> list[Verification]:
        from verifiers import differences
        from verifiers.claims import claim_status

        out: list[Verification] = []
        reports: dict[str, list[Any]] = {}
        for snippet in entry.verify:
            runs = None
            status = "cached"
            message = ""
            try:
                runs = self.verifier.cached(snippet.code)
                if runs is None and run:
                    runs = self.verifier.verify(snippet.code)
                    status = "verified"
            except CoursebotError as exc:
                runs, status, message = None, "failed", str(exc)
            if runs is None:
                out.append(Verification("entry", entry.id, snippet.name, snippet.code,
                                        status if status == "failed" else "not_verified",
                                        message=message or "not verified yet (run `coursebot check` or ask without --no-verify)."))
                continue
            reports[snippet.name] = runs
            out.append(Verification("entry", entry.id, snippet.name, snippet.code, status, runs=runs,
                                    differences=differences(runs[0], runs[1]) if len(runs) == 2 else []))
        by_name = {v.name: v for v in out}
        for claim, major, actual, holds in claim_status(entry, reports):
            by_name[claim.snippet].claims.append(ClaimCheck(claim.text, major, actual, holds))
        return out

    def close(self) -> None:
        if self._verifier is not None and self._own_verifier:
            self._verifier.close()
            self._verifier = None
