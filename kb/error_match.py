"""Pasted errors routed by what they say, not by the words they happen to share.

Entries carry ``error_patterns:`` -- the messages they explain, in Keras 2 and Keras 3 wording --
as data an instructor can extend. A pasted error is reduced to its *kind* (``ValueError``,
``TypeError`` ...) and a normalised word set (shapes, counts and layer instance numbers dropped,
``ndim=3`` kept), and scored against every pattern by how much of the pattern it contains, with a
bonus when the kind matches and a penalty when it names another layer class than the pattern.

The sandbox's own failures (``Timeout``, ``Rejected`` ...) describe the run, not the student's
model: :func:`strip_sandbox` removes them before anything becomes a search word.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from kb.question import HANGUL
from verifiers.report import SERVICE_FAILURES

# Failure kinds the verifier reports about the run itself, and a refusal: never search words.
SANDBOX_KINDS = SERVICE_FAILURES | {"Rejected"}
ERROR_LINE = re.compile(r"\b([A-Z][A-Za-z]*(?:Error|Exception))\s*:\s*(.+)")
SANDBOX_LINE = re.compile(r"^\s*(?:" + "|".join(sorted(SANDBOX_KINDS)) + r")\s*:.*$", re.M)
SHAPE = re.compile(r"\((?:None|\d+|[,\s]|\((?:None|\d+|[,\s])*\))*\)|\[[\d,\s]*\]|\{'[^}]*\}")
NDIM = re.compile(r"ndim\s*=\s*(\d)")
WORD = re.compile(r"[a-z][a-z0-9]*(?:_[a-z][a-z0-9]*)*")
LAYER_CLASSES = frozenset({"conv1d", "conv2d", "rnn", "bidirectional", "embedding",
                           "dense", "timedistributed", "flatten", "dropout"})
RNN_GROUP = {"lstm": "rnn", "gru": "rnn", "simplernn": "rnn"}  # one input-rank rule for all three
NOISE = frozenset(["the", "a", "an", "of", "to", "in", "is", "be", "with", "but", "and", "or", "for", "at", "on", "by", "not", "has", "have", "received", "full", "layer", "input", "shape", "error", "traceback", "file", "line", "call", "last", "most", "recent", "none"])
CONTINUED = re.compile(r"[ \t]+\S|\[\[")          # TensorFlow's indented lines under an error
FRAME = re.compile(r'\s*File "|\s{4,}\S')           # a traceback frame and its source line
# A pattern naming a recurrent layer numbered 1 (``lstm_1``) explains a stack whose first layer lacks
# return_sequences=True: the second layer's input came from the first, not from the data. A pasted
# error counts as one only when the pasted code stacks recurrent layers: the number alone does not
# tell (a notebook cell run again numbers its only LSTM ``lstm_1``; two dev questions do) ...
SECOND_RNN = re.compile(r"\b(?:lstm|gru|simple_?rnn)_1\b")
NUMBERED_RNN = re.compile(r"\b(?:lstm|gru|simple_?rnn)_\d+\b")
RNN_CALL = re.compile(r"\b(?:LSTM|GRU|SimpleRNN)\s*\(")
# ... or when the student says so in words: "LSTM 두 층 쌓았는데 두번째 층에서", "stacked two GRUs".
STACKED = re.compile(r"(쌓|두\s*층|(?<![\d.])2\s*층|두\s*개의?\s*(lstm|gru|rnn|순환|레이어|층)|"
                     r"두\s*번째\s*(층|레이어|lstm|gru|rnn)|\bstack(ed|ing)\b|\bsecond\s+(lstm|gru|rnn|recurrent|layer)|"
                     r"\btwo\s+(lstm|gru|rnn|recurrent)s?\b)", re.I)
MESSAGE_CAP = 2000
MATCH_THRESHOLD = 0.6   # share of a pattern's words the pasted error must contain


@dataclass(frozen=True)
class PastedError:
    kind: str       # "ValueError", or "" when only a paraphrase was found
    message: str


@dataclass(frozen=True)
class ErrorRoute:
    entry_id: str
    score: float    # in [0, 1]
    pattern: str


def strip_sandbox(text: str) -> str:
    """``text`` without lines that report the sandbox's own failures (``Timeout: ...``)."""
    return SANDBOX_LINE.sub("", text)


def find_error(text: str) -> PastedError | None:
    """The last ``SomethingError: message`` of ``text`` (sandbox failures ignored), with what TensorFlow
    prints under it: the indented lines that follow (``\t [[node .../embedding_lookup]]``), or, when the
    line only announces the error (``Graph execution error:``), the lines after it."""
    text = strip_sandbox(text)
    found = [m for m in ERROR_LINE.finditer(text) if m.group(1) not in SANDBOX_KINDS]
    if not found:
        return None
    last = found[-1]
    message = last.group(2).strip()
    # The student's own words after the paste (a line in Korean) are not part of the error.
    rest = list(itertools.takewhile(lambda line: not HANGUL.search(line), text[last.end():].lstrip("\r\n").splitlines()))
    if message.endswith(":"):
        more = [line.strip() for line in rest if line.strip() and not FRAME.match(line)]
    else:
        more = [line.strip() for line in itertools.takewhile(CONTINUED.match, rest)]
    return PastedError(last.group(1), " ".join([message, *more])[:MESSAGE_CAP].strip())


def strip_error(text: str, error: PastedError) -> str:
    """``text`` without the error's own message: the student's words (and code) around it."""
    return text.replace(error.message, " ")


def words(message: str, *, pattern: bool = False) -> frozenset[str]:
    """Normalised words of an error message: shapes, numbers and ``_3`` suffixes dropped (in a pattern,
    a recurrent layer numbered 1 leaves the word ``numbered_rnn``)."""
    text = NDIM.sub(lambda m: f" ndim{m.group(1)} ", message.lower())
    numbered = {"numbered_rnn"} if pattern and SECOND_RNN.search(text) else set()
    text = SHAPE.sub(" ", text)
    found = (RNN_GROUP.get(w, w) for w in WORD.findall(text))
    return frozenset(w for w in found if w not in NOISE and len(w) > 1 and not w.endswith("error")) | numbered


def _kind(pattern: str) -> str:
    m = ERROR_LINE.search(pattern)
    return m.group(1) if m else ""


class ErrorMatcher:
    """Scores a pasted error against the ``error_patterns`` of every entry."""

    def __init__(self, patterns: Mapping[str, Iterable[str]]) -> None:
        self.patterns = [(entry_id, p, _kind(p), words(ERROR_LINE.sub(r"\2", p), pattern=True))
                         for entry_id, ps in patterns.items() for p in ps]

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def route(self, text: str) -> ErrorRoute | None:
        """The entry whose pattern the error in ``text`` matches best, if it matches well enough."""
        error = find_error(text)
        if error is None:
            return None
        have = words(error.message)
        stacked = len(RNN_CALL.findall(text)) > 1 or STACKED.search(strip_error(text, error)) is not None
        if stacked and NUMBERED_RNN.search(error.message.lower()):
            have |= {"numbered_rnn"}
        layers = have & LAYER_CLASSES
        best: ErrorRoute | None = None
        best_explains = 0.0
        for entry_id, pattern, kind, want in self.patterns:
            if not want:
                continue
            shared = len(want & have)
            # Most of the pattern in the error, or (a shorter paste) most of the error in the pattern.
            score = max(shared / len(want), 0.8 * shared / len(have) if len(have) >= 2 else 0.0)
            if kind and kind == error.kind:
                score = min(1.0, score + 0.1)
            other = (want & LAYER_CLASSES)
            if layers and other and not layers & other:
                score -= 0.3
            # Of patterns the error matches equally, the one that explains more of the error wins.
            explains = shared / len(have) if have else 0.0
            if best is None or (score, explains) > (best.score, best_explains):
                best, best_explains = ErrorRoute(entry_id, round(score, 4), pattern), explains
        return best if best is not None and best.score >= MATCH_THRESHOLD else None
