"""Korean-aware tokens for the lexical (BM25) index.

Two tokenizers, measured side by side by ``coursebot eval --compare``:

* ``bigram``: Hangul runs become character bigrams (a one-syllable word stays a
  unigram); Latin identifiers are lower-cased and kept whole *and* split at ``_`` and at
  camel-case humps, so ``TimeDistributed`` matches ``timedistributed``, ``time`` and
  ``distributed``, and ``return_sequences`` matches ``return`` and ``sequences``; a
  ``name=value`` pair such as ``ndim=4`` also becomes the token ``ndim=4``. Nothing to load.
* ``kiwi`` (default, measured better on the dev set): Kiwi morphemes (content words only) for
  Hangul, the same Latin handling.
"""

from __future__ import annotations

import json
import os
import re
from functools import lru_cache
from typing import TYPE_CHECKING

from ingest.forked import Helper

if TYPE_CHECKING:
    from collections.abc import Iterable

    from kiwipiepy import Kiwi, Token

TOKENIZERS = ("bigram", "kiwi")
VERSION = 5  # bump when tokens change: stored tokens of an older version are not reused

HANGUL_RUN = re.compile(r"[가-힣]+")
LATIN_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+")
KEY_VALUE = re.compile(r"\b([A-Za-z_]+)\s*=\s*(\d+|[A-Za-z_]+)\b")
CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
# Very common English and Korean function words that only add noise to BM25.
STOPWORDS = frozenset(
    "a an the is are was were be been of to in on for and or with what why how does do did "  # noqa: SIM905
    "i my me you it its this that these those can could should would when which there here "
    "vs as at by from if not no so than then into about get got".split()
)
# Tools and models students write in Hangul. Each also gives its Latin token, so "파이토치" matches
# "PyTorch" and counts as the unknown domain term it is (the abstention model weighs never-seen Latin
# tokens apart from never-seen Korean words, most of which are everyday words no entry happens to use).
LOANWORDS = {
    "파이토치": "pytorch", "텐서플로우": "tensorflow", "텐서플로": "tensorflow", "케라스": "keras",
    "트랜스포머": "transformer", "어텐션": "attention", "버트": "bert", "지피티": "gpt", "허깅페이스": "huggingface",
    "넘파이": "numpy", "판다스": "pandas", "사이킷런": "sklearn", "쿠다": "cuda", "워드투벡": "word2vec",
    "글로브": "glove", "패스트텍스트": "fasttext", "센텐스피스": "sentencepiece", "토크나이저": "tokenizer",
    "옵티마이저": "optimizer", "아담": "adam", "배치정규화": "batchnormalization", "레이어정규화": "layernormalization",
}
LOANWORD = re.compile("|".join(sorted(LOANWORDS, key=len, reverse=True)))
BULK_MIN = 64  # fewer texts than this are tokenized one by one: a worker pool is not worth building
# "GRU 다음에 Dense" is "Dense after GRU", not the next time step ("다음 시점"): with a particle attached
# (다음에, 다음으로, 다음과 같이) the word only orders things and is not a search word.
RELATIONAL = frozenset({"다음"})
KIWI_TAGS = ("NNG", "NNP", "NNB", "NR", "SL", "SH", "SN", "VV", "VA", "XR", "MAG")


def latin_tokens(text: str) -> list[str]:
    out: list[str] = []
    for m in KEY_VALUE.finditer(text):
        out.append(f"{m.group(1).lower()}={m.group(2).lower()}")
    for word in LATIN_WORD.findall(text):
        low = word.lower()
        if low in STOPWORDS:
            continue
        out.append(low)
        pieces = [p for p in word.split("_") if p]
        parts = [p.lower() for p in pieces] if len(pieces) > 1 else []
        for piece in pieces:
            humps = CAMEL.findall(piece)
            if len(humps) > 1:
                parts.extend(h.lower() for h in humps)
        out.extend(p for p in parts if p not in STOPWORDS and (len(p) > 1 or p.isdigit()))
    return out


def hangul_bigrams(text: str) -> list[str]:
    out: list[str] = []
    for run in HANGUL_RUN.findall(text):
        if len(run) == 1:
            out.append(run)
        else:
            out.extend(run[i:i + 2] for i in range(len(run) - 1))
    return out


@lru_cache(maxsize=1)
def _kiwi() -> Kiwi:
    """Kiwi with its language model only.

    Its built-in dictionaries (proper nouns from Wikipedia and WikiData, common typos and chat-style
    endings) add nothing to course questions about Keras layers, and loading them was most of a cold
    ``coursebot ask`` (about 1.2 s of Kiwi's start). Retrieval hit@1 on the dev and held-out sets is
    the same without them (see ``bench/startup.py`` and ``coursebot eval``).
    """
    from kiwipiepy import Kiwi

    return Kiwi(load_default_dict=False, load_typo_dict=False, load_multi_dict=False)


def kiwi_tokens(text: str) -> list[str]:
    hangul = _hangul(text)
    if not hangul:
        return []
    reply = KIWI_HELPER.ask(hangul.encode("utf-8"))
    if reply is not None:
        morphemes: list[str] = json.loads(reply)   # our own child's JSON
        return morphemes
    return _kiwi_morphemes(hangul)


def _hangul(text: str) -> str:
    return " ".join(HANGUL_RUN.findall(text))


def _kept(analysed: Iterable[Token]) -> list[str]:
    """The content morphemes of one Kiwi analysis (what BM25 indexes), without the relational nouns
    of :data:`RELATIONAL` when a particle is attached to them."""
    tokens = list(analysed)
    return [t.form for n, t in enumerate(tokens) if t.tag.startswith(KIWI_TAGS) and not (
        t.form in RELATIONAL and n + 1 < len(tokens) and tokens[n + 1].tag.startswith("J")
        and tokens[n + 1].start == t.start + t.len)]


def _kiwi_morphemes(hangul: str) -> list[str]:
    return _kept(_kiwi().tokenize(hangul))


@lru_cache(maxsize=1)
def _kiwi_pool() -> Kiwi:
    """Kiwi with a worker per core, for bulk tokenizing (an ingest): built only when one runs."""
    from kiwipiepy import Kiwi

    return Kiwi(num_workers=os.cpu_count() or 1, load_default_dict=False, load_typo_dict=False,
                load_multi_dict=False)


def tokenize_many(texts: list[str], mode: str = "bigram") -> list[list[str]]:
    """``[tokenize(t, mode) for t in texts]``, with Kiwi's analyses spread over every core.

    The same tokens as one by one (tested); on 2 cores a 10,000-entry ingest's Kiwi share went from
    about 21 s to 10 s (``bench/growth.py``).
    """
    if mode != "kiwi" or len(texts) < BULK_MIN:
        return [tokenize(t, mode) for t in texts]
    hangul = [_hangul(t) for t in texts]
    todo = [i for i, h in enumerate(hangul) if h]
    korean: list[list[str]] = [[] for _ in texts]
    for i, analysed in zip(todo, _kiwi_pool().tokenize(hangul[i] for i in todo), strict=True):
        korean[i] = _kept(analysed)
    return [k + latin_tokens(t) + loanword_tokens(t) for k, t in zip(korean, texts, strict=True)]


def _serve_morphemes(request: bytes) -> bytes:
    return json.dumps(_kiwi_morphemes(request.decode("utf-8")), ensure_ascii=False).encode("utf-8")


# Kiwi built in a forked child while a one-shot command imports and loads the rest (see ingest.forked).
KIWI_HELPER = Helper("Kiwi", _serve_morphemes, lambda: _kiwi_morphemes("파라미터 수"))


def start_kiwi_early() -> bool:
    """Build Kiwi in a forked process while this one goes on (for one-shot commands)."""
    return KIWI_HELPER.start()


def loanword_tokens(text: str) -> list[str]:
    """The Latin token of each tool or model name written in Hangul (:data:`LOANWORDS`)."""
    return [LOANWORDS[m.group(0)] for m in LOANWORD.finditer(text.replace(" ", ""))] if HANGUL_RUN.search(text) else []


def tokenize(text: str, mode: str = "bigram") -> list[str]:
    """Tokens of ``text`` for BM25 (``mode`` is ``bigram`` or ``kiwi``)."""
    korean = kiwi_tokens(text) if mode == "kiwi" else hangul_bigrams(text)
    return korean + latin_tokens(text) + loanword_tokens(text)

