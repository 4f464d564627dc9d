"""Wire models: camelCase, defaults, and errors that name the bad field."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from engine.models import Bits, Plan, Risk, RunGoalParams, RunResult, StepResult
from engine.schema import render

ROOT = Path(__file__).resolve().parents[2]


def fields_of(exc: ValidationError) -> list[str]:
    return [".".join(str(p) for p in e["loc"]) for e in exc.errors()]


def test_params_read_camel_case_and_keep_defaults() -> None:
    params = RunGoalParams.model_validate(
        {"goal": "swe.analyze", "dryRun": True, "maxParallel": 3, "workDoneToken": 7}
    )
    assert (params.dry_run, params.max_parallel, params.work_done_token) == (True, 3, 7)
    assert params.approval == "prompt"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"goal": "x", "maxParallel": 0}, "maxParallel"),
        ({"goal": "x", "approval": "yes"}, "approval"),
        ({"goal": "x", "dryrun": True}, "dryrun"),
        ({"goal": ""}, "goal"),
        ({"goal": "x", "stepTimeoutMs": -5}, "stepTimeoutMs"),
        ({"steps": [{"kind": "deleteAll"}]}, "steps.0"),
        ({"steps": [{"kind": "runCli"}]}, "steps.0.runCli.cmd"),
        ({"steps": [{"kind": "writeFile", "path": "a"}]}, "steps.0.writeFile.content"),
        ({"steps": [{"kind": "runCli", "cmd": "ls", "after": "s1"}]}, "steps.0.runCli.after"),
    ],
)
def test_bad_params_name_the_field(payload: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        RunGoalParams.model_validate(payload)
    assert field in fields_of(info.value)


def test_goal_or_steps_is_required() -> None:
    with pytest.raises(ValidationError, match="goal: either goal or steps is required"):
        RunGoalParams.model_validate({})


def test_plan_assigns_ids_in_order_and_checks_the_graph() -> None:
    plan = Plan(
        goal="g",
        planner="explicit",
        steps=[{"kind": "runCli", "cmd": "a"}, {"id": "s1x", "kind": "runCli", "cmd": "b"}],  # type: ignore[list-item]
    )
    assert plan.ids() == ["s1", "s1x"]
    clash = Plan(
        goal="g",
        planner="x",
        steps=[{"kind": "runCli", "cmd": "a"}, {"id": "s1", "kind": "runCli", "cmd": "b"}],  # type: ignore[list-item]
    )
    assert clash.ids() == ["s1_", "s1"]
    with pytest.raises(ValidationError, match="unknown step id 'nope'"):
        Plan(goal="g", planner="x", steps=[{"kind": "runCli", "cmd": "a", "after": ["nope"]}])  # type: ignore[list-item]
    with pytest.raises(ValidationError, match="duplicate step id 'a'"):
        Plan(goal="g", planner="x", steps=[{"id": "a", "kind": "runCli", "cmd": "x"}] * 2)  # type: ignore[list-item]
    cycle = [
        {"id": "a", "kind": "runCli", "cmd": "x", "after": ["c"]},
        {"id": "b", "kind": "runCli", "cmd": "x", "after": ["a"]},
        {"id": "c", "kind": "runCli", "cmd": "x", "after": ["b"]},
    ]
    with pytest.raises(ValidationError, match="dependency cycle"):
        Plan(goal="g", planner="x", steps=cycle)  # type: ignore[arg-type]


def test_step_result_wire_shape_drops_the_other_kinds_field() -> None:
    cli = StepResult(
        id="s1", kind="runCli", cmd="ls", risk=Risk(level="low"), decision="allow", status="running"
    ).wire()
    assert "path" not in cli and cli["cmd"] == "ls"
    assert {"exitCode", "durationMs", "approvedBy", "truncated"} <= cli.keys()
    write = StepResult(
        id="s2",
        kind="writeFile",
        path="a",
        risk=Risk(level="low"),
        decision="allow",
        status="planned",
    )
    assert "cmd" not in write.wire() and write.line == "write a"


def test_schema_file_is_generated_from_the_models() -> None:
    on_disk = (ROOT / "docs" / "schema.json").read_text()
    assert on_disk == render(), (
        "docs/schema.json is stale: python -m engine.schema > docs/schema.json"
    )


def test_config_refuses_a_sandbox_this_machine_cannot_provide(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from engine.config import EngineConfig
    from engine.execute import sandbox

    bare = sandbox.Support(bwrap=None, bwrap_problem="bwrap is not installed", landlock_abi=0)
    monkeypatch.setattr(sandbox, "support", lambda: bare)
    for mode in ("bwrap", "landlock"):
        with pytest.raises(ValidationError, match=f"'{mode}' cannot be used here"):
            EngineConfig.model_validate({"sandbox": mode})
    auto = EngineConfig.model_validate({"sandbox": "auto", "unknownKey": 1})
    assert auto.sandbox == "auto" and auto.sandbox_in_effect == "off"  # said so by health


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"goal": "x", "dryRun": "off"}, "dryRun"),  # would otherwise run for real
        ({"goal": "x", "dryRun": 1}, "dryRun"),
        ({"goal": "x", "maxParallel": "4"}, "maxParallel"),
        ({"goal": "x", "maxParallel": True}, "maxParallel"),
        ({"goal": "x", "stepTimeoutMs": 1.0}, "stepTimeoutMs"),
    ],
)
def test_json_types_are_not_coerced(payload: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        RunGoalParams.model_validate(payload)
    assert field in fields_of(info.value)


def test_settings_are_typed_too() -> None:
    from engine.config import EngineConfig

    for bad in ({"stepTimeoutMs": "100"}, {"baseUrl": "not a url"}, {"maxParallel": 2.5}):
        with pytest.raises(ValidationError):
            EngineConfig.model_validate(bad)
    assert EngineConfig.model_validate({"baseUrl": "http://127.0.0.1:8080/v1"}).base_url


def test_health_takes_no_fields() -> None:
    from engine.health import HealthParams

    HealthParams.model_validate({})
    with pytest.raises(ValidationError, match="x"):
        HealthParams.model_validate({"x": 1})


@pytest.mark.parametrize(
    "step",
    [
        StepResult(id="s1", kind="runCli", cmd="ls", risk=Risk(level="low", reasons=["r"]),
                   decision="allow", status="succeeded", exit_code=0, stdout="a", duration_ms=3),
        StepResult(id="w", kind="writeFile", path="out/x", after=["s1"], risk=Risk(level="high"),
                   decision="ask", approved_by="user", status="rejected", stderr="no"),
    ],
)  # fmt: skip
def test_the_hand_written_wire_forms_match_the_models(step: StepResult) -> None:
    """StepResult and RunResult build their wire dicts by hand (the hot path): the same dicts as
    the models' own serialization, which is the schema."""
    assert step.wire() == step.model_dump(mode="json", by_alias=True)
    for error in (None, "cannot write the trace"):
        result = RunResult(run_id="r", goal="g", planner="stub", status="failed", steps=[step.line],
                           stdout="", deliverables=[], bits=Bits(t=0.0), results=[step],
                           trace="t", error=error)  # fmt: skip
        assert result.wire() == result.model_dump(mode="json", by_alias=True)
