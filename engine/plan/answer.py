"""What a language model answers in each round, its JSON Schema, and turning an answer into a Plan.

The schema is generated from the engine's own models (``ModelAnswer`` holds the wire ``Step``
union), rewritten into the subset every structured-output server accepts: every property required
(optional ones nullable), no extra properties, ``anyOf`` instead of ``oneOf``, no length or range
limits but the first round's ``minItems``. Grammar-constrained servers (llama.cpp) also get
``minLength``: without it a small model fills required strings with nothing. An answer is
validated with the very same models, so the schema and the check cannot drift.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from pydantic import Field, ValidationError

from engine.errors import describe_validation_error
from engine.models import Plan, Step, WireModel

__all__ = [
    "MAX_STEPS",
    "SCHEMA_NAME",
    "InvalidAnswer",
    "ModelAnswer",
    "answer_schema",
    "parse_answer",
]

MAX_STEPS = 50
MAX_SUMMARY = 500
SCHEMA_NAME = "agentd_plan"
_DETAIL_CHARS = 300  # of a bad answer quoted in an error
# A fenced block, to the last fence: a written file's content may hold fences of its own.
_FENCED = re.compile(r"```[\w-]*[ \t]*\n(.*)```", re.DOTALL)
# Keywords outside the portable subset (OpenAI's strict mode refuses several of them; large
# limits such as maxLength 100000 only bloat a grammar).
_DROPPED = frozenset(
    {
        "title", "default", "discriminator", "minLength", "maxLength", "maxItems",
        "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    }
)  # fmt: skip

# Property order, which grammar-constrained servers keep: what a step is before its details.
_FIRST = {name: rank for rank, name in enumerate(("kind", "id", "cmd", "path", "content"))}


class ModelAnswer(WireModel):
    """The plan of one round: steps to run now, and whether they finish the goal."""

    steps: list[Step] = Field(
        description="The steps to run in this round; an empty list when nothing is left to do."
    )
    done: bool = Field(
        default=True,
        description="true when these steps finish the goal; false to see their outcomes and "
        "plan another round.",
    )
    summary: str = Field(
        default="",
        max_length=MAX_SUMMARY,
        description="One line on what these steps achieve, or why the goal is done.",
    )


class InvalidAnswer(Exception):
    """The model's answer is not a usable plan; the message says why (it goes back to the model
    in a repair round, and to the user if that fails too)."""


@functools.cache
def answer_schema(first_round: bool = False, grammar: bool = False) -> dict[str, Any]:
    """The JSON Schema the model's answer must follow (see the module's docstring). The first
    round must plan at least one step (``minItems``; later rounds may be empty: done);
    ``grammar`` keeps ``minLength`` for servers that turn the schema into a grammar."""
    raw = ModelAnswer.model_json_schema(by_alias=True, mode="validation")
    dropped = _DROPPED - {"minLength"} if grammar else _DROPPED
    schema = _portable(raw, raw.get("$defs", {}), dropped)
    if first_round:
        schema["properties"]["steps"]["minItems"] = 1
    return schema


def _portable(
    schema: dict[str, Any], defs: dict[str, Any], dropped: frozenset[str]
) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return _portable(defs[ref.rsplit("/", 1)[-1]], defs, dropped)
    out = {k: v for k, v in schema.items() if k not in dropped and k != "$defs"}
    if "const" in out:
        out["enum"] = [out.pop("const")]
    alternatives = out.pop("oneOf", None) or out.pop("anyOf", None)
    if alternatives is not None:
        out["anyOf"] = [_portable(s, defs, dropped) for s in alternatives]
    if isinstance(out.get("items"), dict):
        out["items"] = _portable(out["items"], defs, dropped)
    if isinstance(out.get("properties"), dict):
        names = sorted(out["properties"], key=lambda k: _FIRST.get(k, len(_FIRST)))
        out["properties"] = {k: _portable(out["properties"][k], defs, dropped) for k in names}
        out["required"] = list(out["properties"])  # nullable, not absent: strict mode's rule
        out["additionalProperties"] = False
    return out


def parse_answer(text: str, *, goal: str, planner: str, round: int = 1) -> Plan:
    """The model's answer (JSON, possibly in a code fence) as a validated Plan.

    Round 1 must plan at least one step. In later rounds step ids get the prefix ``r<round>.``,
    so every step of a run has its own id (``after`` refers to steps of the same round).
    """
    data = _json_object(text)
    steps = data.get("steps")
    if isinstance(steps, list) and len(steps) > MAX_STEPS:
        raise InvalidAnswer(f"the plan has {len(steps)} steps; at most {MAX_STEPS} are allowed")
    try:
        answer = ModelAnswer.model_validate(data)
        plan = Plan(goal=goal, planner=planner, steps=answer.steps)
    except ValidationError as exc:
        problem = describe_validation_error(exc, camel=True)
        if ".after:" in problem:  # name the ids it may use: small models need the hint
            ids = [s.get("id") for s in steps if isinstance(s, dict)] if steps else []
            named = ", ".join(repr(i) for i in ids if isinstance(i, str)) or "none"
            problem += (
                f' ("after" may name only other steps of the same answer; their ids are {named}; '
                "use [] for a step that waits for none)"
            )
        raise InvalidAnswer(f"the plan is invalid: {problem}") from None
    if not plan.steps and round == 1:
        said = f" (it said: {excerpt(answer.summary)})" if answer.summary else ""
        raise InvalidAnswer(f"the plan has no steps{said}")
    if round > 1:
        plan = _prefixed(plan, f"r{round}.")
    # A later round with nothing to do is the end, whatever "done" says: no empty rounds.
    done = answer.done or not plan.steps
    return plan.model_copy(update={"done": done, "summary": answer.summary or None})


def _json_object(text: str) -> dict[str, Any]:
    stripped = text.strip()
    if not stripped:
        raise InvalidAnswer("the answer is empty")
    fenced = None if stripped.startswith("{") else _FENCED.search(stripped)
    body = fenced.group(1).strip() if fenced else stripped
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise InvalidAnswer(f"the answer is not JSON ({exc.msg}): {excerpt(text)}") from None
    if not isinstance(data, dict) or not isinstance(data.get("steps"), list):
        raise InvalidAnswer(
            'the answer is not a plan: expected a JSON object {"steps": [...], "done": ..., '
            f'"summary": ...}}, got {excerpt(body)}'
        )
    return data


def _prefixed(plan: Plan, prefix: str) -> Plan:
    steps = []
    for step in plan.steps:
        data = step.model_dump(by_alias=True, exclude_none=True)
        data["id"] = prefix + str(step.id)
        data["after"] = [prefix + dep for dep in step.after]
        steps.append(data)
    try:
        return Plan.model_validate({"goal": plan.goal, "planner": plan.planner, "steps": steps})
    except ValidationError as exc:
        raise InvalidAnswer(
            f"the plan is invalid: {describe_validation_error(exc, camel=True)}"
        ) from None


def excerpt(text: str, limit: int = _DETAIL_CHARS) -> str:
    """``text`` on one line, cut to ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."
