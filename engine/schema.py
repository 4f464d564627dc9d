"""The JSON Schema of the public wire shapes, generated from the models (never written by hand).

``python -m engine.schema > docs/schema.json`` regenerates the file; a test keeps it in sync.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import models_json_schema

from engine import models
from engine.config import EngineConfig
from engine.records import TraceRecord

INPUTS: tuple[type[BaseModel], ...] = (
    models.RunGoalParams,
    models.CancelParams,
    models.ListGoalsParams,
    models.TraceParams,
    EngineConfig,
)
OUTPUTS: tuple[type[BaseModel], ...] = (
    models.RunResult,
    models.StepResult,
    models.Risk,
    models.Plan,
    models.CancelResult,
    models.ListGoalsResult,
    models.TraceResult,
    models.HealthResult,
    models.RunStartedParams,
    models.PlanReadyParams,
    models.StepUpdatedParams,
    models.OutputDeltaParams,
    models.RequestPermissionParams,
    models.RequestPermissionResult,
)


def schema() -> dict[str, Any]:
    _, defs = models_json_schema(
        [(m, "validation") for m in INPUTS] + [(m, "serialization") for m in OUTPUTS],
        by_alias=True,
        title="agentd wire shapes",
    )
    unions: tuple[tuple[str, TypeAdapter[Any]], ...] = (
        ("Step", TypeAdapter(models.Step)),
        ("TraceRecord", TypeAdapter(TraceRecord)),
    )
    for name, adapter in unions:
        shape = adapter.json_schema(by_alias=True, ref_template="#/$defs/{model}")
        defs.setdefault("$defs", {}).update(shape.pop("$defs", {}))
        defs["$defs"][name] = shape
    defs["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return defs


def render() -> str:
    return json.dumps(schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(render(), end="")
