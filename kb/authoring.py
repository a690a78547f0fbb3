"""Adding an entry: validate -> verify (expect and claims must hold) -> atomic, locked write.

The same function serves ``coursebot add`` and the instructor page. Nothing is written unless
every step succeeds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kb.errors import DuplicateEntry, EntryCheckFailed, UsageError
from kb.schema import Entry
from kb.settings import Settings
from kb.store import entries_lock, parse_entry, write_entry


@dataclass(frozen=True)
class AddResult:
    entry: Entry
    path: Path
    snippets: int
    claims: int


def add_entry_file(path: Path, settings: Settings, *, replace: bool = False) -> AddResult:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"Cannot read {path}: {exc}.") from None
    return add_entry_text(text, path.name, settings, replace=replace)


def add_entry_text(text: str, file: str, settings: Settings, *, replace: bool = False) -> AddResult:
    entry = parse_entry(text, file)
    existing = settings.entries_dir / f"{entry.id}.yaml"
    if existing.exists() and not replace:
        raise DuplicateEntry(entry.id, existing.name)
    mismatches = verify_entry(entry, settings)
    if mismatches:
        raise EntryCheckFailed(entry.id, mismatches)
    with entries_lock(settings.entries_dir):
        target = write_entry(entry, settings.entries_dir, replace=replace, text=text)
    return AddResult(entry, target, len(entry.verify), len(entry.claims))


def verify_entry(entry: Entry, settings: Settings) -> list[str]:
    """Every mismatch between the entry's snippets/claims and real Keras, as sentences."""
    if not entry.verify:
        return []
    from verifiers import get_verifier
    from verifiers.claims import check_entry

    verifier = get_verifier(settings)
    reports = {s.name: verifier.verify(s.code) for s in entry.verify}
    return [str(m) for m in check_entry(entry, reports)]
