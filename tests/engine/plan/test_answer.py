"""The model's answer: its schema (generated from the models, in the portable subset) and its
parsing into a Plan, with what each bad answer gets."""

from __future__ import annotations

import json
from typing import Any

import pytest

from engine.models import RunCliStep, WriteFileStep
from engine.plan.answer import MAX_STEPS, InvalidAnswer, answer_schema, parse_answer

STEPS: list[dict[str, Any]] = [
    {"kind": "writeFile", "id": "write", "path": "out/hi.txt", "content": "hi\n", "after": []},
    {"kind": "runCli", "id": None, "cmd": "cat out/hi.txt", "after": ["write"], "timeoutMs": 5000},
]


def answer(steps: list[dict[str, Any]], done: bool = True, summary: str = "") -> str:
    return json.dumps({"steps": steps, "done": done, "summary": summary})


def walk(node: Any) -> list[dict[str, Any]]:
    """Every schema object inside ``node``."""
    found = []
    if isinstance(node, dict):
        found.append(node)
        for key, value in node.items():
            if key == "properties":
                for sub in value.values():
                    found += walk(sub)
            elif isinstance(value, dict | list):
                found += walk(value)
    elif isinstance(node, list):
        for item in node:
            found += walk(item)
    return found


def test_the_schema_is_the_portable_subset() -> None:
    schema = answer_schema()
    assert schema["required"] == ["steps", "done", "summary"]
    nodes = walk(schema)
    for node in nodes:
        assert not {"oneOf", "$ref", "$defs", "discriminator", "default", "title"} & node.keys()
        assert not {"minLength", "maxLength", "maxItems", "exclusiveMinimum"} & node.keys()
        if node.get("type") == "object":  # every property required, nothing else allowed
            assert node["additionalProperties"] is False
            assert node["required"] == list(node["properties"])
    kinds = [n["properties"]["kind"] for n in nodes if "kind" in n.get("properties", {})]
    assert kinds == [
        {"type": "string", "enum": ["runCli"]},
        {"type": "string", "enum": ["writeFile"]},
    ]
    run_cli = next(n for n in nodes if "cmd" in n.get("properties", {}))
    assert list(run_cli["properties"])[:3] == ["kind", "id", "cmd"]  # what a step is, first
    assert {"type": "null"} in run_cli["properties"]["id"]["anyOf"]  # optional means nullable
    assert "minItems" not in schema["properties"]["steps"]  # later rounds may be empty
    assert answer_schema(first_round=True)["properties"]["steps"]["minItems"] == 1


def test_grammar_servers_also_get_minimum_lengths() -> None:
    grammar = json.dumps(answer_schema(grammar=True))
    assert '"minLength": 1' in grammar and "maxLength" not in grammar
    assert "minLength" not in json.dumps(answer_schema())


def test_a_good_answer_is_a_plan() -> None:
    plan = parse_answer(answer(STEPS, summary="greet"), goal="g", planner="openai:m")
    write, show = plan.steps
    assert isinstance(write, WriteFileStep) and write.content == "hi\n"
    assert isinstance(show, RunCliStep) and show.after == ["write"] and show.timeout_ms == 5000
    assert plan.ids() == ["write", "s2"] and plan.done and plan.summary == "greet"


def test_later_rounds_get_their_own_ids() -> None:
    plan = parse_answer(answer(STEPS, done=False), goal="g", planner="p", round=3)
    assert plan.ids() == ["r3.write", "r3.s2"] and plan.steps[1].after == ["r3.write"]
    assert not plan.done
    empty = parse_answer(answer([], summary="all done"), goal="g", planner="p", round=2)
    assert empty.steps == [] and empty.summary == "all done"
    idle = parse_answer(answer([], done=False), goal="g", planner="p", round=2)
    assert idle.done  # nothing to run is the end, whatever the model says


@pytest.mark.parametrize(
    "text",
    [
        "```json\n" + answer(STEPS) + "\n```",
        "Here is the plan:\n```\n" + answer(STEPS) + "\n```\nGood luck.",
        json.dumps({"steps": STEPS}),  # done and summary have defaults
    ],
    ids=["fenced", "prose-and-fence", "steps-only"],
)
def test_lenient_forms(text: str) -> None:
    plan = parse_answer(text, goal="g", planner="p")
    assert [s.line for s in plan.steps] == ["write out/hi.txt", "cat out/hi.txt"]


def test_fences_inside_a_written_file_survive() -> None:
    readme = "# Use\n```sh\nmake\n```\n"
    steps = [{"kind": "writeFile", "path": "README.md", "content": readme}]
    for text in (answer(steps), f"```json\n{answer(steps)}\n```"):
        [step] = parse_answer(text, goal="g", planner="p").steps
        assert isinstance(step, WriteFileStep) and step.content == readme


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I cannot help with that.", "not JSON"),
        ("", "the answer is empty"),
        ('[{"kind": "runCli", "cmd": "ls"}]', "not a plan"),
        ('{"plan": []}', "not a plan"),
        ('{"steps": [], "done": true, "summary": "nothing to do"}', "no steps (it said: nothing"),
        ('{"steps": [{"kind": "shell", "cmd": "ls"}]}', "steps[0]"),
        ('{"steps": [{"kind": "runCli"}]}', "steps[0].cmd"),
        ('{"steps": [{"kind": "runCli", "cmd": "ls", "after": ["x"]}]}', "unknown step id 'x'"),
        ('{"steps": [{"kind": "runCli", "cmd": "ls", "sudo": true}]}', "steps[0].sudo"),
        ('{"steps": [{"kind": "runCli", "cmd": "ls", "timeoutMs": "5"}]}', "timeoutMs"),
        ('{"steps": [{"kind": "runCli", "cmd": "ls"}], "done": "yes"}', "done"),
    ],
)
def test_bad_answers_say_what_is_wrong(text: str, expected: str) -> None:
    with pytest.raises(InvalidAnswer) as caught:
        parse_answer(text, goal="g", planner="p")
    assert expected in str(caught.value)


def test_too_many_steps() -> None:
    steps = [{"kind": "runCli", "cmd": f"echo {i}"} for i in range(MAX_STEPS + 1)]
    with pytest.raises(InvalidAnswer, match=f"{MAX_STEPS + 1} steps; at most {MAX_STEPS}"):
        parse_answer(answer(steps), goal="g", planner="p")


def test_a_prefixed_id_that_gets_too_long_is_invalid() -> None:
    steps = [{"kind": "runCli", "id": "x" * 128, "cmd": "ls"}]
    assert parse_answer(answer(steps), goal="g", planner="p").ids() == ["x" * 128]
    with pytest.raises(InvalidAnswer, match="steps"):
        parse_answer(answer(steps), goal="g", planner="p", round=2)
