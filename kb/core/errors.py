"""Every failure a student or instructor can act on, as one typed exception.

The library raises these; the interfaces (CLI, Streamlit) print ``str(error)`` -- one
sentence that says what went wrong and what to do -- and never a traceback.

    CoursebotError
    ├── EntryInvalid        an entry file is malformed (names the file and the field)
    ├── DuplicateEntry      an entry id is already taken
    ├── EntryCheckFailed    an entry's snippets or claims do not hold
    ├── IndexMissing        no search index yet (says which command builds it)
    ├── IndexCorrupt        the index folder is unreadable (says how to rebuild)
    ├── EmbedderUnavailable the configured embedder cannot be loaded
    ├── SnippetRejected     the sandbox policy refused a snippet before running it
    ├── SandboxUnavailable  no safe way to run untrusted code on this machine
    ├── WorkerFailed        a Keras worker could not start or died
    ├── SettingInvalid      a COURSEBOT_* variable has a bad value
    ├── StorageUnavailable  the question-log / cache database cannot be used
    └── UsageError          a command-line argument or input file is unusable
"""

from __future__ import annotations


class CoursebotError(Exception):
    """Base class: ``str(error)`` is a complete, user-facing sentence."""

    exit_code = 1


class UsageError(CoursebotError):
    exit_code = 2


class SettingInvalid(CoursebotError):
    exit_code = 2


class EntryInvalid(CoursebotError):
    """A knowledge-base entry is malformed."""

    def __init__(self, file: str, field: str, problem: str) -> None:
        self.file = file
        self.field = field
        self.problem = problem
        where = f"field '{field}'" if field else "the file"
        super().__init__(f"{file}: {where} {problem}.")


class DuplicateEntry(CoursebotError):
    def __init__(self, entry_id: str, existing: str) -> None:
        self.entry_id = entry_id
        self.existing = existing
        super().__init__(
            f"Entry id '{entry_id}' already exists in {existing}; choose another id "
            "(or edit that file)."
        )


class EntryCheckFailed(CoursebotError):
    def __init__(self, entry_id: str, problems: list[str]) -> None:
        self.entry_id = entry_id
        self.problems = problems
        first = problems[0] if problems else "unknown problem"
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"Entry '{entry_id}' was not saved: {first}{more}.")


class DocumentUnreadable(CoursebotError):
    exit_code = 2

    def __init__(self, path: str, detail: str) -> None:
        super().__init__(f"Cannot read document {path}: {detail}.")


class DuplicateRecord(CoursebotError):
    exit_code = 2

    def __init__(self, key: str) -> None:
        super().__init__(f"Two records share the key {key}; entry ids and document names must be unique.")


class IndexMissing(CoursebotError):
    def __init__(self, path: str) -> None:
        super().__init__(f"No search index at {path}; run `coursebot ingest` to build it.")


class IndexCorrupt(CoursebotError):
    def __init__(self, path: str, detail: str) -> None:
        super().__init__(
            f"The search index at {path} is unreadable ({detail}); "
            "run `coursebot ingest --rebuild` to rebuild it."
        )


class EmbedderUnavailable(CoursebotError):
    pass


class SnippetRejected(CoursebotError):
    def __init__(self, reason: str, line: int | None) -> None:
        self.reason = reason
        self.line = line
        at = f" (line {line})" if line else ""
        super().__init__(f"The snippet was refused{at}: {reason}.")


class SandboxUnavailable(CoursebotError):
    exit_code = 3


class WorkerFailed(CoursebotError):
    exit_code = 3


class StorageUnavailable(CoursebotError):
    """The database behind the question log or the verification cache cannot be used."""

    exit_code = 3

    def __init__(self, url: str, detail: str) -> None:
        self.url = url
        self.detail = detail
        super().__init__(f"The database {url} cannot be used ({detail}); check COURSEBOT_DATABASE_URL.")


class QuestionTooLong(CoursebotError):
    """A question past the length cap (nothing is cut: the student is told to shorten it)."""

    exit_code = 2

    def __init__(self, length: int, limit: int) -> None:
        self.length = length
        self.limit = limit
        super().__init__(
            f"The question is {length:,} characters long, more than the {limit:,} coursebot reads; "
            "paste only the lines around the problem (the model definition and the error) and ask again."
        )
