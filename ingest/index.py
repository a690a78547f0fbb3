"""The search index: dense vectors in FAISS plus a lexical BM25 index, in a folder a person can read.

Layout of ``var/index/``::

    CURRENT                  name of the live generation (replaced atomically)
    g000007/manifest.json    embedder, dimension, tokenizer, versions, one hash per record
    g000007/records.jsonl    one line per record (entry or redacted document chunk)
    g000007/dense.faiss      IndexFlatIP over L2-normalised vectors (cosine)
    g000007/rows.npy         which record each FAISS row belongs to
    g000007/lexical/         the bm25s index over Korean-aware tokens
    g000007/sentence/        USE vectors of each entry's short texts and answer paragraphs (the reranker's)
    g000007/uncovered/       e5 and USE vectors of the uncovered topics' examples (kb/not_covered.yaml)

A build writes a new generation folder and then points ``CURRENT`` at it, so a reader never sees a
half-written index and a build killed mid-way leaves the previous one in place. Writers take
``var/index.lock``. An entry is embedded as several short texts (title, question, each
paraphrase); its long answer is only indexed lexically. Rebuilding reuses the vectors of every
record whose hash did not change; a different embedder re-embeds everything (the lexical index
is always rebuilt: it is cheap).

This module is the front door (``load_index``, ``open_index``, ``build``, ``upsert_entry``); the
parts live in ``records`` (what is indexed), ``chunking`` (raw documents), ``reader`` (a loaded
generation), ``build`` (writing one) and ``generations`` (lock, ``CURRENT``, atomic publish).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from ingest.build import BuildStats, Progress, build, upsert_entry
from ingest.chunking import DOC_CHUNK_OVERLAP, DOC_CHUNK_SIZE, doc_records
from ingest.generations import CURRENT, current_generation, entry_stamp, entry_stamps, index_lock
from ingest.reader import FORMAT, Index, load_index
from ingest.records import Record, entry_record
from ingest.tokens import VERSION as TOKENS_VERSION
from kb.core.errors import IndexCorrupt, IndexMissing
from kb.core.settings import Settings
from kb.core.uncovered import uncovered_stamp

__all__ = ["CURRENT", "DOC_CHUNK_OVERLAP", "DOC_CHUNK_SIZE", "FORMAT", "BuildStats", "Index", "Progress",
           "Record", "build", "current_generation", "doc_records", "entry_record", "entry_stamp",
           "entry_stamps", "index_lock", "load_index", "open_index", "upsert_entry"]
log = logging.getLogger("coursebot")


def open_index(settings: Settings, *, notify: Callable[[str], None] | None = None) -> Index:
    """The live index, built first if missing, rebuilt if corrupt, refreshed if entries changed."""
    say = notify or log.warning
    try:
        index = load_index(settings)
    except IndexMissing:
        say("no search index yet; building it from the knowledge base (first run only).")
        build(settings)
        return load_index(settings)
    except IndexCorrupt as exc:
        say(f"{exc} Rebuilding it now.")
        build(settings, rebuild=True)
        return load_index(settings)
    # The manifest stamps exactly the entry files the index holds, so an entry written by an add
    # that died before indexing it is seen here and indexed.
    stale = (index.manifest.get("entry_files") != entry_stamps(settings.entries_dir)
             or index.manifest.get("embedder") != settings.embedder
             or index.manifest.get("tokenizer") != settings.tokenizer
             or index.manifest.get("tokenizer_version") != TOKENS_VERSION   # tokens changed since
             or "sentence_model" not in index.manifest   # built before the second stage's view
             or index.manifest.get("uncovered") != uncovered_stamp(settings.uncovered_file))
    if stale:
        build(settings)
        return load_index(settings)
    return index
