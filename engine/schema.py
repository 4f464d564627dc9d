"""The JSON Schema of the public wire shapes, generated from the models (never written by hand).

Every ``WireModel`` of the wire modules is found by walking them, and so is every discriminated
union (``Step``, ``TraceRecord``, ...): a new model is in the schema as soon as it exists. Models
that a client sends (``*Params``, the configuration) are described as they validate, the rest as
they serialize. ``python -m engine.schema > docs/schema.json`` regenerates the file; a test keeps
it in sync.
"""

from __future__ import annotations

import json
from types import ModuleType, UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from engine import config, health, models, notifications, records, requests

WIRE_MODULES: tuple[ModuleType, ...] = (models, requests, health, notifications, records, config)
INPUTS = frozenset({"EngineConfig", "RequestPermissionResult"})  # validated, not *Params


def wire_models() -> list[type[models.WireModel]]:
    """Every public WireModel defined in the wire modules, in a stable order."""
    found: dict[str, type[models.WireModel]] = {}
    for module in WIRE_MODULES:
        for name, value in vars(module).items():
            if (
                isinstance(value, type)
                and issubclass(value, models.WireModel)
                and value.__module__ == module.__name__
                and not name.startswith("_")
                and value is not models.WireModel
            ):
                found[name] = value
    return [found[name] for name in sorted(found)]


def wire_unions() -> dict[str, Any]:
    """Every public discriminated union of WireModels (``Annotated[A | B, Field(...)]``)."""
    found = {}
    for module in WIRE_MODULES:
        for name, value in vars(module).items():
            if get_origin(value) is not Annotated or name.startswith("_"):
                continue
            inner = get_args(value)[0]
            arms = get_args(inner)
            if get_origin(inner) in (Union, UnionType) and all(
                isinstance(arm, type) and issubclass(arm, models.WireModel) for arm in arms
            ):
                found[name] = value
    return found


def _mode(model: type[BaseModel]) -> JsonSchemaMode:
    name = model.__name__
    return "validation" if name.endswith("Params") or name in INPUTS else "serialization"


def schema() -> dict[str, Any]:
    _, defs = models_json_schema(
        [(model, _mode(model)) for model in wire_models()],
        by_alias=True,
        title="agentd wire shapes",
    )
    for name, union in sorted(wire_unions().items()):
        shape = TypeAdapter(union).json_schema(by_alias=True, ref_template="#/$defs/{model}")
        defs.setdefault("$defs", {}).update(shape.pop("$defs", {}))
        defs["$defs"][name] = shape
    defs["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return defs


def render() -> str:
    return json.dumps(schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(render(), end="")
