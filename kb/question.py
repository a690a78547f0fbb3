"""Find what a question carries besides words: Keras code and error messages.

Code detection is linear in the question's length: every line is classified once (code-like or
prose), each maximal run of code-like lines is parsed, and a run that does not parse is split at the
line the parser names (a bounded number of times). A question longer than :data:`MAX_QUESTION_CHARS`
is refused with one sentence (:class:`~kb.core.errors.QuestionTooLong`), never cut silently.
"""

from __future__ import annotations

import ast
import keyword
import re

from kb.core.errors import QuestionTooLong

MAX_QUESTION_CHARS = 20_000
MAX_SPLITS_PER_RUN = 12

KERAS_NAMES = re.compile(
    r"\b(Sequential|Model|Input|Dense|LSTM|GRU|SimpleRNN|Conv1D|Conv2D|Embedding|Bidirectional|"
    r"TimeDistributed|Dropout|Flatten|MaxPooling1D|AveragePooling1D|GlobalMaxPooling1D|"
    r"GlobalAveragePooling1D|Concatenate|concatenate|keras|layers)\b")
FENCE = re.compile(r"```(?:python|py)?[ \t]*\n(.*?)```", re.DOTALL)
ERROR_LINE = re.compile(r"\b([A-Z][A-Za-z]*(?:Error|Exception)):[ \t]*([^\n]+)")
STRINGS_AND_COMMENTS = re.compile(r"#[^\n]*|'[^'\n]*'|\"[^\"\n]*\"")
HANGUL = re.compile(r"[가-힣]")
WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
CODE_START = re.compile(r"^(import|from|def|class|return|for|while|if|elif|else|with|try|except|print)\b")
CODE_MARK = re.compile(r"[=()\[\]{}:,]")


def check_length(question: str) -> None:
    """Raise :class:`QuestionTooLong` past the cap (one sentence, nothing cut)."""
    if len(question) > MAX_QUESTION_CHARS:
        raise QuestionTooLong(len(question), MAX_QUESTION_CHARS)


def clean_text(question: str) -> str:
    """The question without lone surrogates (undecodable bytes), which no parser or database accepts."""
    return question.encode("utf-8", "replace").decode("utf-8")


def code_like(line: str) -> bool:
    """One line, judged alone: could it belong to a Python snippet? (cheap, no parsing)"""
    stripped = line.strip()
    if not stripped or stripped.startswith("#"):
        return True
    bare = STRINGS_AND_COMMENTS.sub(" ", line)
    if HANGUL.search(bare):
        return False
    # Prose has runs of plain words ("what is the output"); code separates names with operators.
    previous_word = False
    for token in bare.split():
        is_word = bool(WORD.fullmatch(token)) and not keyword.iskeyword(token)
        if is_word and previous_word:
            return False
        previous_word = is_word
    return bool(line[:1].isspace() or CODE_START.match(stripped) or CODE_MARK.search(bare))


def _is_keras_code(code: str) -> bool:
    if HANGUL.search(STRINGS_AND_COMMENTS.sub("", code)):
        return False
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return False
    nodes = list(ast.walk(tree))
    if not any(isinstance(n, ast.Call) for n in nodes) or not KERAS_NAMES.search(code):
        return False
    structural = any(isinstance(n, (ast.Assign, ast.Import, ast.ImportFrom)) for n in nodes)
    return structural or code.strip().count("\n") >= 1


def _blocks(lines: list[str], start: int, end: int) -> list[tuple[int, int]]:
    """Parseable Keras blocks inside the run lines[start:end], splitting where the parser fails."""
    found: list[tuple[int, int]] = []
    todo = [(start, end)]
    splits = 0
    while todo and splits <= MAX_SPLITS_PER_RUN:
        i, j = todo.pop()
        while i < j and not lines[i].strip():
            i += 1
        while j > i and not lines[j - 1].strip():
            j -= 1
        if i >= j:
            continue
        block = "\n".join(lines[i:j])
        # Indented first lines are a fragment of a bigger block: dedent by the first line's indent.
        indent = len(lines[i]) - len(lines[i].lstrip())
        if indent:
            block = "\n".join(line[indent:] if line[:indent].isspace() else line for line in lines[i:j])
        try:
            ast.parse(block)
        except (SyntaxError, ValueError, MemoryError, RecursionError) as exc:
            splits += 1
            bad = getattr(exc, "lineno", None)
            if not isinstance(bad, int) or not 1 <= bad <= j - i:
                bad = j - i          # no usable line: drop the last line and retry
            cut = i + bad - 1
            todo.append((i, cut))
            todo.append((cut + 1, j))
            continue
        if _is_keras_code(block):
            found.append((i, j))
    return found


def extract_code(question: str) -> tuple[str | None, str]:
    """(Keras code found in the question or None, the rest of the question)."""
    fenced = FENCE.findall(question)
    if fenced:
        code = "\n".join(block.strip("\n") for block in fenced)
        if code.strip():
            return code, FENCE.sub(" ", question).strip()
    lines = question.splitlines()
    flags = [code_like(line) for line in lines]
    best: tuple[int, int] | None = None
    i = 0
    while i < len(lines):
        if not flags[i]:
            i += 1
            continue
        j = i
        while j < len(lines) and flags[j]:
            j += 1
        for block in _blocks(lines, i, j):
            if best is None or block[1] - block[0] > best[1] - best[0]:
                best = block
        i = j
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
