"""Adding an entry: validate -> verify (expect and claims must hold) -> atomic, locked write ->
update the search index in place.

The same functions serve ``coursebot add`` and the instructor page. Nothing is written unless
validation and every check succeed. If the process dies after the entry file is written but
before the index is updated, the next reader notices the changed entry files (the index manifest
keeps their fingerprint) and brings the index up to date.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kb.core.errors import DuplicateEntry, EntryCheckFailed, UsageError
from kb.core.numbers import StatedNumber, stated_numbers
from kb.core.schema import Entry
from kb.core.settings import Settings
from kb.core.store import entries_lock, parse_entry, unclaimed_problem, write_entry

if TYPE_CHECKING:
    from verifiers.report import SnippetVerifier, VerifyReport


@dataclass(frozen=True)
class AddResult:
    entry: Entry
    path: Path
    snippets: int
    claims: int
    indexed: bool = True


@dataclass
class Preview:
    """What saving would do, without writing anything (the instructor page shows this)."""

    entry: Entry | None
    error: str | None = None                 # validation error, one sentence
    mismatches: list[str] = field(default_factory=list)
    reports: dict[str, list[VerifyReport]] = field(default_factory=dict)   # snippet name -> VerifyReport per version
    duplicate: bool = False
    numbers: list[StatedNumber] = field(default_factory=list)  # counts and shapes the answers state, and their ties

    @property
    def ok(self) -> bool:
        return self.entry is not None and self.error is None and not self.mismatches


def add_entry_file(path: Path, settings: Settings, *, replace: bool = False) -> AddResult:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"Cannot read {path}: {exc}.") from None
    return add_entry_text(text, path.name, settings, replace=replace)


def add_entry_text(text: str, file: str, settings: Settings, *, replace: bool = False,
                   verifier: SnippetVerifier | None = None) -> AddResult:
    entry = parse_entry(text, file)
    existing = settings.entries_dir / f"{entry.id}.yaml"
    if existing.exists() and not replace:
        raise DuplicateEntry(entry.id, existing.name)
    mismatches, _ = verify_entry(entry, settings, verifier=verifier)
    if mismatches:
        raise EntryCheckFailed(entry.id, mismatches)
    with entries_lock(settings.entries_dir):
        target = write_entry(entry, settings.entries_dir, replace=replace, text=text)
    from ingest.index import upsert_entry

    upsert_entry(settings, entry)
    return AddResult(entry, target, len(entry.verify), len(entry.claims))


def preview_entry(text: str, file: str, settings: Settings, *, verifier: SnippetVerifier | None = None) -> Preview:
    """Validate and verify an entry's YAML text; never writes."""
    from kb.core.errors import CoursebotError

    try:
        entry = parse_entry(text, file, check_numbers=False)
    except CoursebotError as exc:
        return Preview(None, error=str(exc))
    preview = Preview(entry, duplicate=(settings.entries_dir / f"{entry.id}.yaml").exists(),
                      numbers=stated_numbers(entry))
    problem = unclaimed_problem(entry, file)
    if problem is not None:  # still verified below, so the page can show the real values next to the numbers
        preview.error = str(problem)
    try:
        preview.mismatches, preview.reports = verify_entry(entry, settings, verifier=verifier)
    except CoursebotError as exc:
        preview.error = preview.error or str(exc)
    return preview


def verify_entry(entry: Entry, settings: Settings, *, verifier: SnippetVerifier | None = None
                 ) -> tuple[list[str], dict[str, list[VerifyReport]]]:
    """Every mismatch between the entry's snippets/claims and real Keras (as sentences), and the reports."""
    if not entry.verify:
        return [], {}
    from verifiers import get_verifier
    from verifiers.claims import verify_and_check

    mismatches, reports = verify_and_check(entry, verifier or get_verifier(settings))
    return [str(m) for m in mismatches], reports
