"""What a question is about: its prose weighs more than the incidental tokens of pasted code.

A question may hold pasted Keras code, a traceback and an error line next to the student's own
words. :func:`focus` splits it: prose lines are kept whole (and count twice for BM25), a code line
only contributes the layer classes it calls and the keyword arguments it sets, traceback frames
contribute nothing, and the sandbox's own failures (``Timeout: ...``) are dropped. When the student's
words name some of the code's layers or arguments ("lstm 파라미터가 117248개로 나오는데"), only those
are kept: the Embedding, Dropout and Dense around them are incidental.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from kb.error_match import ERROR_LINE, strip_sandbox
from kb.question import code_like

FENCE = re.compile(r"```[a-zA-Z]*\s*\n(.*?)```", re.DOTALL)
FRAME = re.compile(r"^\s*(Traceback \(most recent call last\)|File \".*\", line \d+|\^+\s*$|~+)")
HANGUL = re.compile(r"[가-힣]")
STRINGS_AND_COMMENTS = re.compile(r"#.*$|'[^']*'|\"[^\"]*\"")
CALLED = re.compile(r"(?<!\w)([A-Za-z_]\w*)\(")
KWARG = re.compile(r"[(,]\s*([A-Za-z_]\w*)\s*=(?!=)")
UNINFORMATIVE = frozenset({"keras", "layers", "Model", "Input", "Sequential", "print", "summary", "add",
                           "compile", "fit", "build", "tf", "shape", "name"})

# Layers students name in Hangul ("임베딩 파라미터", "양방향 LSTM").
LAYER_WORDS = {"임베딩": "embedding", "양방향": "bidirectional", "드롭아웃": "dropout", "덴스": "dense",
               "합성곱": "conv1d"}


@dataclass(frozen=True)
class Focus:
    prose: str               # the student's own words (and pasted error lines)
    names: tuple[str, ...]   # layer classes and keyword arguments of pasted code
    has_code: bool

    @property
    def dense_text(self) -> str:
        return " ".join(filter(None, [self.prose, " ".join(self.names)])) or ""

    @property
    def lexical_text(self) -> str:
        return "\n".join(filter(None, [self.prose, self.prose, " ".join(self.names)]))


def _code_names(line: str) -> list[str] | None:
    """Called names and keyword arguments of a line of Python, or None if it is not code.

    A comment line in English (``# (50, 128)``, a pasted ``summary()`` row) is code that says nothing;
    a line that cannot parse alone but reads as code (``model = Sequential([``, ``])``,
    ``for w in lstm.get_weights():``) gives the names it calls."""
    stripped = line.strip()
    if stripped.startswith("#"):
        return None if HANGUL.search(stripped) else []
    if HANGUL.search(STRINGS_AND_COMMENTS.sub("", line)):
        return None
    try:
        tree = ast.parse(stripped)
    except SyntaxError:
        if not code_like(line):
            return None
        return [name for name in CALLED.findall(line) if name not in UNINFORMATIVE] + KWARG.findall(line)
    names: list[str] = []
    code = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            code = True
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name and name not in UNINFORMATIVE:
                names.append(name)
            names.extend(kw.arg for kw in node.keywords if kw.arg)
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.Import, ast.ImportFrom)):
            code = True
    return names if code else None


def _named_in(lines: list[list[str]], said: str) -> tuple[str, ...]:
    """The layer classes the student's words name, if they name any (else all), with the layers on
    the same code line (the wrapper around a named layer, or the layer it wraps), and likewise the
    arguments and functions: what the question is about among what the pasted code happens to hold."""
    said = said + " " + " ".join(latin for word, latin in LAYER_WORDS.items() if word in said)

    def named(group: list[str]) -> list[str]:
        found = [n for n in group if re.search(rf"(?<![a-z0-9_]){re.escape(n.lower())}(?![a-z0-9_])", said)]
        return found or group

    names = list(dict.fromkeys(n for line in lines for n in line if n not in UNINFORMATIVE))
    layers = set(named([n for n in names if n[:1].isupper()]))
    layers |= {n for line in lines if layers & set(line) for n in line if n[:1].isupper()}
    others = named([n for n in names if not n[:1].isupper()])
    return tuple(n for n in names if n in layers or n in others)


def focus(question: str) -> Focus:
    text = strip_sandbox(question)
    fenced = FENCE.findall(text)
    text = FENCE.sub("\n", text)
    prose: list[str] = []
    lines: list[list[str]] = []   # the names of each code line
    has_code = bool(fenced)
    for block in fenced:
        for line in block.splitlines():
            lines.append(_code_names(line) or [])
    for line in text.splitlines():
        if not line.strip() or FRAME.match(line):
            continue
        if ERROR_LINE.search(line):
            prose.append(line.strip())
            continue
        found = _code_names(line)
        if found is None:
            prose.append(line.strip())
        else:
            has_code = True
            lines.append(found)
    unique = tuple(n for n in dict.fromkeys(n for line in lines for n in line) if n not in UNINFORMATIVE)
    if prose:
        unique = _named_in(lines, " ".join(prose).lower())
    if not prose and not unique:
        return Focus(question.strip(), (), has_code)
    return Focus(" ".join(prose), unique, has_code)
