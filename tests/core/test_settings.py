"""Settings are parsed by their declared type, bounded by their metadata, and refused in one sentence."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from kb.core.errors import SettingInvalid
from kb.core.settings import Settings, env_name


def test_every_field_is_parsed_to_its_type() -> None:
    samples = {int: "7", float: "0.25", str: "e5", Path: "/tmp/x", tuple: "3"}
    env = {}
    for f in fields(Settings):
        raw = next(v for t, v in samples.items() if isinstance(getattr(Settings(), f.name), t))
        if f.metadata.get("choices") and raw not in f.metadata["choices"]:
            raw = f.metadata["choices"][0]
        if f.metadata.get("schemes"):
            raw = f"{f.metadata['schemes'][0]}:///tmp/x.sqlite"
        env[env_name(f.name)] = raw
    settings = Settings.from_env(env)
    for f in fields(Settings):
        default, parsed = getattr(Settings(), f.name), getattr(settings, f.name)
        assert type(parsed) is type(default), f"{f.name}: {type(parsed).__name__}"


@pytest.mark.parametrize(("name", "raw"), [
    ("top_k", "many"), ("top_k", "0"), ("abstain_threshold", "1.5"), ("abstain_threshold", "nan"),
    ("verify_timeout", "-1"), ("keras_versions", "3,4"), ("keras_versions", " , "),
    ("embedder", "bert"), ("sandbox", "docker"), ("worker_max_jobs", "2.5"),
])
def test_bad_values_are_one_sentence(name: str, raw: str) -> None:
    with pytest.raises(SettingInvalid) as info:
        Settings.from_env({env_name(name): raw})
    message = str(info.value)
    assert env_name(name) in message and message.endswith(".") and "\n" not in message


def test_empty_means_default() -> None:
    assert Settings.from_env({"COURSEBOT_TOP_K": ""}).top_k == Settings().top_k


def test_a_tuple_of_literals_takes_its_choices_from_the_type() -> None:
    assert Settings.from_env({"COURSEBOT_KERAS_VERSIONS": "2"}).keras_versions == ("2",)
    with pytest.raises(SettingInvalid, match="must be one of: 2, 3"):
        Settings.from_env({"COURSEBOT_KERAS_VERSIONS": "3,4"})
