"""Load, validate and write knowledge-base entries (``kb/entries/<id>.yaml``).

Validation errors name the file, the field and what is wrong. Writes are atomic (temporary
file in the same folder, fsync, rename) and serialised by a lock file, so no reader ever sees a
partial entry and two concurrent writers cannot both take one id.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from filelock import FileLock
from pydantic import ValidationError

from kb.core.errors import DuplicateEntry, EntryInvalid
from kb.core.numbers import unclaimed_numbers
from kb.core.pii import find_pii
from kb.core.schema import Entry

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails

LOCK_NAME = ".entries.lock"


# libyaml's safe loader when PyYAML has it (about ten times faster: an answer parses its top hits'
# entries), the pure-Python one otherwise; both accept exactly the same YAML.
SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_entry(text: str, file: str, *, expect_id: str | None = None, check_numbers: bool = True) -> Entry:
    """Parse and validate one entry's YAML text; ``file`` is only used in messages.

    With ``check_numbers`` (the default) an entry whose answer states a parameter count or shape that
    no claim checks and no ``unchecked:`` item explains is refused (see :mod:`kb.core.numbers`).
    """
    try:
        data = yaml.load(text, Loader=SAFE_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise EntryInvalid(file, "", f"is not valid YAML{where} ({problem})") from None
    if not isinstance(data, dict):
        raise EntryInvalid(file, "", "must be a YAML mapping of fields (id, title, question, answer, ...)")
    try:
        entry = Entry.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = _field_path(err["loc"])
        raise EntryInvalid(file, field, _describe(err)) from None
    if expect_id is not None and entry.id != expect_id:
        raise EntryInvalid(file, "id", f"is '{entry.id}' but must equal the file name '{expect_id}'")
    pii = find_pii(_all_text(data))
    if pii:
        raise EntryInvalid(file, "", "contains personal data (an e-mail address or phone number); "
                           "remove it")
    problem = unclaimed_problem(entry, file) if check_numbers else None
    if problem is not None:
        raise problem
    return entry


def unclaimed_problem(entry: Entry, file: str) -> EntryInvalid | None:
    """The refusal for an entry stating numbers nothing checks (one sentence naming the first), or None."""
    missing = unclaimed_numbers(entry)
    if not missing:
        return None
    first = missing[0]
    what = "shape" if first.kind == "shape" else "number"
    more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
    return EntryInvalid(file, first.field, f"states the {what} {first.text}{more} that no claim checks; tie it "
                        "to a snippet under claims: or list it under unchecked: with a reason")


def _field_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _describe(err: ErrorDetails) -> str:
    kind = err["type"]
    if kind == "missing":
        return "is missing"
    if kind == "extra_forbidden":
        return "is not a known field (check the spelling)"
    if kind == "string_pattern_mismatch":
        return "must be 3-80 lowercase letters, digits or dashes, starting with a letter or digit"
    msg = str(err["msg"])
    msg = msg.removeprefix("Value error, ")
    return f"is invalid: {msg[0].lower() + msg[1:] if msg else 'bad value'}"


def _all_text(data: object) -> str:
    if isinstance(data, dict):
        return "\n".join(_all_text(v) for v in data.values())
    if isinstance(data, list):
        return "\n".join(_all_text(v) for v in data)
    return str(data)


def load_entry(path: Path) -> Entry:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise EntryInvalid(path.name, "", f"cannot be read ({exc})") from None
    return parse_entry(text, path.name, expect_id=path.stem)


def entry_files(entries_dir: Path) -> list[Path]:
    return sorted(p for p in entries_dir.glob("*.yaml") if not p.name.startswith("."))


def load_entries(entries_dir: Path) -> list[Entry]:
    """All entries, validated; the first malformed file raises EntryInvalid."""
    entries = [load_entry(p) for p in entry_files(entries_dir)]
    return entries


@contextmanager
def entries_lock(entries_dir: Path, timeout: float = 60.0) -> Iterator[None]:
    entries_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(entries_dir / LOCK_NAME), timeout=timeout):
        yield


def dump_entry(entry: Entry) -> str:
    data = entry.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    for key in ("id", "title", "question", "answer", "lang"):
        data.setdefault(key, getattr(entry, key))
    order = ["id", "title", "title_en", "lang", "tags", "question", "paraphrases", "error_patterns", "answer", "answer_en",
             "sources", "verify", "claims", "unchecked"]
    ordered = {k: data[k] for k in order if k in data}
    return yaml.dump(ordered, Dumper=_BlockDumper, allow_unicode=True, sort_keys=False, width=100)


def write_entry(entry: Entry, entries_dir: Path, *, replace: bool = False, text: str | None = None) -> Path:
    """Atomically write ``entry`` as ``<id>.yaml``; refuses a taken id unless ``replace``.

    ``text`` keeps the author's own YAML (comments, layout) when it is given and valid.
    Call inside :func:`entries_lock` when several writers may run at once.
    """
    target = entries_dir / f"{entry.id}.yaml"
    if target.exists() and not replace:
        raise DuplicateEntry(entry.id, target.name)
    body = text if text is not None else dump_entry(entry)
    fd, tmp = tempfile.mkstemp(prefix=f".{entry.id}.", suffix=".tmp", dir=entries_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(body)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(entries_dir, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return target


class _BlockDumper(yaml.SafeDumper):
    pass


def _str_presenter(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_BlockDumper.add_representer(str, _str_presenter)
