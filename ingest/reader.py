"""A loaded index generation (read-only): records, FAISS vectors, the BM25 index and token counts."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from ingest.generations import current_generation
from ingest.lexical import LexicalScores
from ingest.records import Record
from ingest.sentence_view import SentenceView, load_view
from ingest.uncovered_view import UncoveredView, load_uncovered_view
from kb.core.errors import IndexCorrupt, IndexMissing
from kb.core.settings import Settings

FORMAT = 1


class Index:
    """A loaded index generation (read-only). Use :func:`load_index` or :func:`open_index`."""

    def __init__(self, path: Path, manifest: dict[str, Any], records: list[Record],
                 dense: Any, rows: np.ndarray, bm25: LexicalScores, df: dict[str, int],
                 sentence: SentenceView | None = None, uncovered: UncoveredView | None = None) -> None:
        self.path = path
        self.manifest = manifest
        self.records = records
        self.dense = dense
        self.rows = rows
        self.bm25 = bm25
        self.df = df
        self.sentence = sentence   # the second stage's USE rows (None: built without them)
        self.uncovered = uncovered   # the uncovered topics' examples (None: built without any)
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
        bm25 = LexicalScores(gen / "lexical")
        df = json.loads((gen / "lexical" / "df.json").read_text(encoding="utf-8"))
        sentence = load_view(gen) if manifest.get("sentence_model") else None
        if sentence is not None:
            sentence.check(len(records))
        uncovered = load_uncovered_view(gen) if manifest.get("uncovered") else None
    except FileNotFoundError as exc:
        raise IndexCorrupt(str(root), f"{Path(exc.filename or '?').name} is missing") from None
    except IndexCorrupt:
        raise
    except Exception as exc:  # any parse error of any file: the folder cannot be trusted
        raise IndexCorrupt(str(root), f"{type(exc).__name__}: {str(exc)[:120]}") from None
    return Index(gen, manifest, records, dense, rows, bm25, df, sentence, uncovered)
