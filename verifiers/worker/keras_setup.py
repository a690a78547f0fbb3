"""Import TensorFlow and the right Keras once, in the template process (never runs an op)."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import os
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any, NamedTuple


class Modules(NamedTuple):
    tf: Any  # TensorFlow, Keras and numpy ship no type information
    keras: Any
    np: Any


def setup_keras(major: str) -> Modules:
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    os.environ["CUDA_VISIBLE_DEVICES"] = ""
    if major == "2":
        os.environ["TF_USE_LEGACY_KERAS"] = "1"
    import numpy as np
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    if major == "2":
        import tf_keras as keras

        _alias_keras_to_tf_keras()
    else:
        import keras
    import keras as _k3_or_alias  # noqa: F401  (warm the import cache)

    return Modules(tf, keras, np)


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """In the Keras 2 worker, ``import keras`` means tf-keras, as it did in Keras 2."""

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> ModuleSpec | None:
        if fullname == "keras" or fullname.startswith("keras."):
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec: ModuleSpec) -> ModuleType:
        return importlib.import_module("tf_keras" + spec.name[len("keras"):])

    def exec_module(self, module: ModuleType) -> None:
        return None


def _alias_keras_to_tf_keras() -> None:
    for name in [n for n in sys.modules if n == "keras" or n.startswith("keras.")]:
        del sys.modules[name]
    sys.meta_path.insert(0, _Alias())
