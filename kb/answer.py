"""What a student gets back: their own numbers first, then a cited answer backed by verified Keras results.

``Answerer.answer(question)`` runs these steps (each in its own module):

1. :mod:`kb.question` — the length cap, Keras code and error messages in the question;
2. :mod:`kb.prose` — layers and sizes written in prose; :mod:`kb.dialogue` resolves a follow-up
   against the previous turn (its topic for retrieval, its configuration for building);
3. :mod:`kb.search` — the best entry; its answer in the student's language (``answer_en``);
4. :mod:`kb.lead` — the student's configuration built in both Keras versions (a ``"question"``
   verification) and the ``lead`` answering their numbers; :mod:`kb.pasted` — pasted code built;
5. the entry's own verifications, with every claimed number marked ✓ or ✗.

Nothing here imports TensorFlow (the verifier runs Keras in its own worker processes) or Streamlit.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kb.answer_types import Answer, ClaimCheck, Verification
from kb.core.errors import CoursebotError
from kb.core.settings import Settings
from kb.core.sources import SourceDoc, cite, load_sources
from kb.decline import refusal_for, suggestions
from kb.dialogue import Context, previous_context, resolve
from kb.error_match import SANDBOX_KINDS
from kb.lead import answer_numbers
from kb.messages import KO, Lang, language, particle_ro, say
from kb.pasted import explain_error, verify_pasted, with_prelude
from kb.prose import ModelSpec, parse
from kb.question import check_length, clean_text, extract_code, extract_error
from kb.search import Searcher

if TYPE_CHECKING:
    from ingest.index import Index
    from kb.core.schema import Entry
    from kb.qlog import Audience
    from kb.refusals import RefusalKind
    from verifiers.report import SnippetVerifier, VerifyReport

__all__ = ["NOT_COVERED", "Answer", "Answerer", "ClaimCheck", "Verification", "explain_error",
           "extract_code", "extract_error", "with_prelude"]

NOT_COVERED = KO["not_covered"]


class Answerer:
    """Holds the index, the searcher, the entries and (lazily) the verifier. Reuse one per process."""

    def __init__(self, settings: Settings, *, index: Index | None = None, log: bool = True,
                 verifier: SnippetVerifier | None = None) -> None:
        from ingest.index import open_index

        self.settings = settings
        self.index = index if index is not None else open_index(settings)
        self.searcher = Searcher(self.index)
        self.log = None
        if log:
            from kb.qlog import QuestionLog

            self.log = QuestionLog(settings.log_url)
        self._verifier: SnippetVerifier | None = verifier
        self._own_verifier = verifier is None
        self._catalogue: dict[str, SourceDoc] | None = None
        self._entries: dict[str, tuple[tuple[int, int], Entry]] = {}   # id -> (file version, entry)
        self.warm_seconds: float | None = None   # how long warm_up took to start the Keras workers

    def reload(self) -> None:
        """Pick up a changed index (after an entry was added)."""
        from ingest.index import open_index

        self.index = open_index(self.settings)
        self.searcher = Searcher(self.index, self.searcher.embedder)

    def warm_up(self) -> threading.Event:
        """Start the Keras workers in the background so the first pasted snippet does not wait;
        the event is set when they answered (``warm_seconds`` says after how long)."""
        done = threading.Event()
        began = time.perf_counter()

        def start() -> None:
            # Best effort: a trivial snippet through the normal, locked path starts both workers;
            # a real failure is reported when a snippet is verified.
            with contextlib.suppress(Exception):
                self.verifier.verify("warm_up = 1\n", use_cache=False)
            self.warm_seconds = time.perf_counter() - began
            done.set()

        threading.Thread(target=start, name="coursebot-warm-up", daemon=True).start()
        return done

    def refresh(self) -> None:
        """Switch to a newer index generation if one was written (an entry was added meanwhile)."""
        from ingest.index import current_generation

        if current_generation(self.settings.index_dir) != self.index.path:
            self.reload()

    @property
    def verifier(self) -> SnippetVerifier:
        if self._verifier is None:
            from verifiers import get_verifier

            self._verifier = get_verifier(self.settings)
        return self._verifier

    def _entry(self, entry_id: str) -> Entry | None:
        """The entry as its file is now: parsed once, parsed again only when the file changes."""
        from kb.core.store import load_entry

        path = self.settings.entries_dir / f"{entry_id}.yaml"
        try:
            stat = path.stat()
        except OSError:
            return None
        version = (stat.st_mtime_ns, stat.st_size)
        cached = self._entries.get(entry_id)
        if cached is not None and cached[0] == version:
            return cached[1]
        try:
            entry = load_entry(path)
        except CoursebotError:
            return None
        self._entries[entry_id] = (version, entry)
        return entry

    @property
    def catalogue(self) -> dict[str, SourceDoc]:
        """The source catalogue (kb/sources.yaml), read once (readable citations)."""
        if self._catalogue is None:
            self._catalogue = load_sources()
        return self._catalogue

    def answer(self, question: str, *, k: int | None = None, verify: bool = True,
               history: list[Any] | None = None, session: str | None = None,
               audience: Audience = "student", on_wait: Callable[[int], None] | None = None) -> Answer:
        """Answer one question; ``history`` (earlier Answers) or ``session`` (logged turns) is the context.

        ``session`` is also the student's place in the verifier's fair queue; ``on_wait(ahead)`` is told how
        many snippets run or start before theirs while their code waits.
        """
        started = time.perf_counter()
        check_length(question)
        self.refresh()
        k = k or self.settings.top_k
        question = clean_text(question).strip()
        lang = language(question)
        # Refused whatever the score (personal data, financial advice): logged as refused, not as a gap.
        refusal = refusal_for(question)
        if refusal is not None:
            return self._refused(question, refusal.kind, refusal.message, started, session, audience)
        if history is None and session and self.log is not None:
            history = list(self.log.turns(session))
        code, _ = extract_code(question)
        pasted = None
        query = question
        error_text = None
        spec = ModelSpec()
        if code is not None:
            pasted = verify_pasted(self.verifier, code, lang, session=session, on_wait=on_wait) if verify else Verification(
                source="pasted", snippet="pasted", code=code, status="not_verified",
                message="--no-verify: the pasted code was not run.")
            # The question as asked (the search weighs its prose over the code's tokens, as `coursebot eval`
            # measures it), plus the error the code raised; the sandbox's own failures (Timeout, Rejected …)
            # never become search words.
            failure = next((r.error for r in pasted.runs if r.error and r.error.type not in SANDBOX_KINDS), None)
            query = f"{question}\n{failure.type}: {failure.message}" if failure else question
        else:
            error_text = extract_error(question)
            spec = parse(question)
        previous = previous_context(history)
        resolution = resolve(question, spec, previous if code is None else None)
        if resolution.follow_up:
            query = resolution.query
        # A follow-up that only resizes the previous model keeps the previous entry ("units를 64로 하면?"
        # after a GRU answer is still about that GRU, whatever else its words match).
        keep = previous.entry_id if resolution.resized_only and previous is not None else None
        result = self.searcher.search(query or question, k=k if keep is None else len(self.index.records),
                                      threshold=self.settings.abstain_threshold)
        if keep is not None:
            hits = sorted(result.hits, key=lambda h: h.id != keep)[:k]
            result = result.model_copy(update={"hits": hits, "answered": result.answered or hits[0].id == keep})
        out = Answer(question=question, answered=result.answered, confidence=result.confidence,
                     lang=lang, hits=result.hits, pasted=pasted, error_text=error_text)
        entries = {h.id: self._entry(h.id) for h in result.hits if h.kind == "entry"}
        for hit in result.hits:
            entry = entries.get(hit.id)
            out.hit_answers[hit.id] = self._text(entry, lang) if entry is not None else hit.chunk
            if entry is not None and lang == "en" and entry.title_en:
                hit.title = entry.title_en   # the answer's title and the related-question buttons
        best_entry = entries.get(result.hits[0].id) if result.hits else None
        # A follow-up rebuilds on what the previous turn built on (the same entry's snippet).
        build_on = (self._entry(previous.entry_id) if resolution.changes and previous is not None
                    and previous.entry_id else None) or best_entry
        self._numbers(out, resolution.spec, build_on, verify, session, on_wait, carried=bool(resolution.changes))
        if resolution.changes:
            changes = ", ".join(resolution.changes)
            out.notes.insert(0, say(lang, "carried", changes=changes, ro=particle_ro(changes)))
        elif resolution.follow_up and previous is not None:
            out.notes.insert(0, say(lang, "carried_topic", previous=previous.question[:80]))
        if result.answered and result.hits:
            best = result.hits[0]
            out.entry, out.title, out.sources = best.id, best.title, best.sources
            out.answer = self._text(best_entry, lang) if best_entry is not None else best.chunk
            if best_entry is not None:
                out.verifications = self.entry_verifications(best_entry, run=verify, lang=lang)
                out.citations = [cite(s.doc, s.note, self.catalogue) for s in best_entry.sources]
        elif not out.lead:
            near = result.uncovered
            out.uncovered = near
            out.answer = (say(lang, "not_covered_topic", title=near.title_en if lang == "en" else near.title)
                          + say(lang, "not_covered_rest") if near else say(lang, "not_covered"))
            out.suggestions = suggestions(result.hits)
        out.answered = out.answered or bool(out.lead)
        topic = previous.question if resolution.follow_up and previous is not None else question
        out.context = Context(question=topic, entry_id=out.entry or (previous.entry_id if previous else None),
                              spec=resolution.spec if not resolution.spec.empty else None).model_dump(mode="json")
        out.took_ms = int((time.perf_counter() - started) * 1000)
        if self.log is not None:
            out.log_id = self.log.record(question, answered=out.answered, entry_id=out.entry,
                                         confidence=out.confidence, has_code=code is not None,
                                         took_ms=out.took_ms, session=session, context=out.context,
                                         audience=audience,
                                         answer=out.model_dump(mode="json"))   # the chat shows it again after a refresh
        return out

    def _refused(self, question: str, kind: RefusalKind, message: str, started: float, session: str | None,
                 audience: Audience) -> Answer:
        """A refused question: the fixed message, logged as refused (never as a content gap)."""
        out = Answer(question=question, answered=False, confidence=0.0, answer=message, refused=kind,
                     lang=language(question))
        out.took_ms = int((time.perf_counter() - started) * 1000)
        if self.log is not None:
            out.log_id = self.log.record(question, answered=False, entry_id=None, confidence=0.0,
                                         refused=kind, took_ms=out.took_ms, session=session,
                                         audience=audience,
                                         answer=out.model_dump(mode="json"))
        return out

    @staticmethod
    def _text(entry: Entry, lang: str) -> str:
        return entry.answer_en if lang == "en" and entry.answer_en else entry.answer

    def _numbers(self, out: Answer, spec: ModelSpec, entry: Entry | None, verify: bool, session: str | None,
                 on_wait: Callable[[int], None] | None, *, carried: bool = False) -> None:
        if spec.empty and not spec.problems:
            return
        numbers = answer_numbers(spec, entry, self.verifier if verify else None, out.lang, run=verify,
                                 session=session, on_wait=on_wait, carried=carried)
        out.built, out.lead = numbers.verification, numbers.lead
        out.notes.extend(numbers.notes)

    def verify_pasted(self, code: str) -> Verification:
        return verify_pasted(self.verifier, code)

    def entry_verifications(self, entry: Entry, *, run: bool, lang: Lang = "ko") -> list[Verification]:
        from verifiers import differences
        from verifiers.claims import claim_status

        out: list[Verification] = []
        reports: dict[str, list[VerifyReport]] = {}
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
                out.append(Verification(
                    source="entry", entry=entry.id, snippet=snippet.name, code=snippet.code,
                    status="failed" if status == "failed" else "not_verified",
                    message=message or say(lang, "entry_not_run")))
                continue
            reports[snippet.name] = runs
            out.append(Verification(source="entry", entry=entry.id, snippet=snippet.name, code=snippet.code,
                                    status="verified" if status == "verified" else "cached", runs=runs,
                                    differences=differences(runs[0], runs[1]) if len(runs) == 2 else []))
        by_name = {v.snippet: v for v in out}
        for claim, major, actual, holds in claim_status(entry, reports):
            by_name[claim.snippet].claims.append(ClaimCheck(text=claim.text, keras=major, actual=actual, ok=holds))
        return out

    def close(self) -> None:
        if self._verifier is not None and self._own_verifier:
            self._verifier.close()
            self._verifier = None
