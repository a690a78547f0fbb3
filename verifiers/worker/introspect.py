"""Describe what a snippet left in its namespace: models, standalone layers, tensors."""

from __future__ import annotations

from typing import Any

from verifiers.worker.keras_setup import Modules

Json = dict[str, Any]


def _shape(shape: Any) -> list[int | None] | None:
    if shape is None:
        return None
    if hasattr(shape, "as_list"):
        try:
            return list(shape.as_list())
        except ValueError:
            return None
    return [None if d is None else int(d) for d in shape]


def _output_shape(layer: Any, major: str) -> Any:
    try:
        if major == "2":
            shp = layer.output_shape
            if isinstance(shp, list):
                shapes = [_shape(s) for s in shp]
                return shapes[0] if len(shapes) == 1 else shapes
            return _shape(shp)
        out = layer.output
        if isinstance(out, list | tuple):
            return [_shape(o.shape) for o in out]
        return _shape(out.shape)
    except Exception:
        return None


def _params(weights: Any) -> int:
    total = 0
    for w in weights:
        n = 1
        for d in w.shape:
            n *= int(d)
        total += n
    return total


def describe_model(var: str, model: Any, keras: Any, major: str) -> Json:
    note = note_kind = None
    if not model.built:
        layers = list(model.layers)
        if isinstance(model, keras.Sequential) and layers and type(layers[0]).__name__ == "Embedding":
            model.build((None, None))
            note = (
                "built by coursebot with input shape (None, None) to count parameters; "
                "add an Input layer to state the shape yourself"
            )
            note_kind = "built_for_counting"
        else:
            return {
                "var": var, "class": type(model).__name__, "built": False, "layers": [
                    {"name": la.name, "class": type(la).__name__, "output_shape": None, "params": None}
                    for la in layers
                ],
                "total_params": None, "trainable_params": None,
                "note": "the model is not built yet, so Keras cannot count its parameters: "
                "give it an input shape (keras.Input(shape=...) first, or model.build(...))",
                "note_kind": "not_built",
            }
    layers_out = [
        {"name": layer.name, "class": type(layer).__name__,
         "output_shape": _output_shape(layer, major), "params": _params(layer.weights)}
        for layer in model.layers
    ]
    return {
        "var": var, "class": type(model).__name__, "built": True, "layers": layers_out,
        "total_params": _params(model.weights),
        "trainable_params": _params(model.trainable_weights),
        "note": note, "note_kind": note_kind,
    }


def _is_tensor(value: Any, mods: Modules) -> bool:
    if isinstance(value, (mods.tf.Tensor, mods.tf.Variable, mods.np.ndarray)):
        return True
    name = type(value).__name__
    return name.endswith("KerasTensor") and hasattr(value, "shape")


def introspect(ns: dict[str, Any], mods: Modules, major: str) -> Json:
    keras = mods.keras
    models: list[Json] = []
    tensors: list[Json] = []
    layers: list[Json] = []
    in_models: set[int] = set()
    for var, value in ns.items():
        if isinstance(value, keras.Model):
            models.append(describe_model(var, value, keras, major))
            in_models.update(id(la) for la in value.layers)
    for var, value in ns.items():
        if isinstance(value, keras.Model):
            continue
        if isinstance(value, keras.layers.Layer) and id(value) not in in_models:
            layers.append({
                "var": var, "class": type(value).__name__, "built": bool(value.built),
                "params": _params(value.weights) if value.built else None,
                "weights": [{"name": w.name, "shape": _shape(w.shape)} for w in value.weights],
            })
        elif _is_tensor(value, mods):
            tensors.append({"var": var, "shape": _shape(value.shape)})
        elif isinstance(value, list | tuple) and 0 < len(value) <= 16:
            for i, item in enumerate(value):
                if _is_tensor(item, mods):
                    tensors.append({"var": f"{var}[{i}]", "shape": _shape(item.shape)})
    return {"models": models, "tensors": tensors, "layers": layers}
