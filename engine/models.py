"""The wire shapes of docs/protocol.md: the single source of truth for every JSON field.

camelCase on the wire (aliases), snake_case in Python. Input models forbid unknown fields so that a
typo such as ``dryrun`` is an error instead of a silently executed run.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic.alias_generators import to_camel

# The protocol's words, re-exported: the wire shapes below and their users share them.
from engine.vocab import (
    FINAL_STEP_STATUSES as FINAL_STEP_STATUSES,
    ApprovalMode as ApprovalMode,
    ApprovedBy as ApprovedBy,
    Decision as Decision,
    Dialect as Dialect,
    FinalStepStatus as FinalStepStatus,
    LiveStepStatus as LiveStepStatus,
    PermissionKind as PermissionKind,
    PlannerChoice as PlannerChoice,
    RiskLevel as RiskLevel,
    RunStatus as RunStatus,
    SessionMode as SessionMode,
    StepKind as StepKind,
    StepStatus as StepStatus,
    Stream as Stream,
    Widening as Widening,
)

StepId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")]
TimeoutMs = Annotated[int, Field(gt=0, le=24 * 3600 * 1000)]
# Every string a client sends has a length limit: an error never echoes it, and nothing grows
# with it (a 50 MB workspace path is refused, not carried through a run).
WorkspaceRef = Annotated[str, Field(min_length=1, max_length=4096)]
RunId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.-]+$")]
ProgressToken = Annotated[str, Field(min_length=1, max_length=256)] | int
ModelName = Annotated[str, Field(min_length=1, max_length=200)]
BaseUrl = Annotated[str, Field(pattern=r"^https?://[^\s/]+", max_length=2000)]


class WireModel(BaseModel):
    """Base of every wire shape: camelCase aliases, population by either name."""

    # strict: JSON types are not coerced ("off" is not false, "4" is not 4, true is not 1)
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", strict=True
    )

    def wire(self) -> dict[str, Any]:
        """The JSON-ready dict exactly as it goes on the wire."""
        return self.model_dump(mode="json", by_alias=True)


class _StepBase(WireModel):
    id: StepId | None = None
    after: list[StepId] = Field(default_factory=list)
    timeout_ms: TimeoutMs | None = None


class RunCliStep(_StepBase):
    """Run a shell command (``sh -c``) in the workspace root."""

    kind: Literal["runCli"]
    cmd: str = Field(min_length=1, max_length=100_000)

    @field_validator("cmd")
    @classmethod
    def _no_nul(cls, cmd: str) -> str:
        if "\x00" in cmd:  # the kernel cannot pass it to sh: the command would be cut there
            raise ValueError("a command cannot contain a NUL byte")
        return cmd

    @property
    def line(self) -> str:
        return self.cmd


class WriteFileStep(_StepBase):
    """Write ``content`` to ``path`` (relative to the workspace root), atomically."""

    kind: Literal["writeFile"]
    path: str = Field(min_length=1, max_length=4096)
    content: str = Field(max_length=16 * 1024 * 1024)

    @property
    def line(self) -> str:
        return f"write {self.path}"


Step = Annotated[RunCliStep | WriteFileStep, Field(discriminator="kind")]


class TracedWriteFileStep(_StepBase):
    """A writeFile step as the trace records it: the content's size and SHA-256 and a short
    preview, not the content (which may be megabytes)."""

    kind: Literal["writeFile"]
    path: str
    content_bytes: int = Field(ge=0)
    content_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    content_preview: str


TracedStep = Annotated[RunCliStep | TracedWriteFileStep, Field(discriminator="kind")]


class Plan(WireModel):
    """An ordered list of steps with unique ids and a valid dependency graph: one round of a run.

    ``done`` false asks for another round once these steps have run (a model planner that wants to
    see their outcomes); ``summary`` is the planner's one line on the goal or why it stopped.
    """

    goal: str
    planner: str
    steps: list[Step]
    done: bool = True
    summary: str | None = None

    @model_validator(mode="after")
    def _ids_and_graph(self) -> Plan:
        explicit = {s.id for s in self.steps if s.id is not None}
        seen: set[str] = set()
        for index, step in enumerate(self.steps, start=1):
            if step.id is None:  # s1, s2, ... by position, stepping around ids given explicitly
                step.id = f"s{index}"
                while step.id in explicit or step.id in seen:
                    step.id = f"{step.id}_"
            elif step.id in seen:
                raise ValueError(f"steps[{index - 1}].id: duplicate step id {step.id!r}")
            seen.add(step.id)
        for index, step in enumerate(self.steps):
            for dep in step.after:
                if dep not in seen:
                    raise ValueError(f"steps[{index}].after: unknown step id {dep!r}")
                if dep == step.id:
                    raise ValueError(f"steps[{index}].after: step {dep!r} depends on itself")
        _check_acyclic(self.steps)
        return self

    def ids(self) -> list[str]:
        return [step_id(s) for s in self.steps]


def step_id(step: RunCliStep | WriteFileStep) -> str:
    """The id of a step that belongs to a validated Plan (always assigned there)."""
    assert step.id is not None, "steps get their ids when the Plan is validated"
    return step.id


def _check_acyclic(steps: list[RunCliStep | WriteFileStep]) -> None:
    """Depth-first over ``after``, iteratively: a plan of any length never hits the recursion
    limit, and each step is visited once."""
    graph = {s.id: s.after for s in steps}
    state: dict[str | None, int] = {}  # 1 = on the current path, 2 = done
    for root in graph:
        if root in state:
            continue
        state[root] = 1
        path: list[tuple[str | None, Iterator[str]]] = [(root, iter(graph[root]))]
        while path:
            node, deps = path[-1]
            dep = next(deps, None)
            if dep is None:
                state[node] = 2
                path.pop()
            elif state.get(dep) == 1:
                names = [str(n) for n, _ in path]
                loop = [*names[names.index(dep) :], dep]
                shown = (
                    loop
                    if len(loop) <= 8
                    else [*loop[:4], f"... ({len(loop) - 6} more)", *loop[-2:]]
                )
                raise ValueError(f"steps.after: dependency cycle {' -> '.join(shown)}")
            elif dep not in state:
                state[dep] = 1
                path.append((dep, iter(graph.get(dep, []))))


def _cycle(path: list[str], back_to: str) -> str:
    """``a -> b -> a``, shortened in the middle when long (a message never grows with input)."""
    loop = [*path[path.index(back_to) :], back_to]
    if len(loop) > 8:
        loop = [*loop[:4], f"... ({len(loop) - 6} more)", *loop[-2:]]
    return " -> ".join(loop)


class RunGoalParams(WireModel):
    """Params of ``agent/runGoal`` and ``agent/plan``."""

    goal: str | None = Field(default=None, min_length=1, max_length=20_000)
    workspace: WorkspaceRef | None = None
    steps: list[Step] | None = Field(default=None, min_length=1)
    dry_run: bool = False
    approval: ApprovalMode = "prompt"
    mode: SessionMode = "default"  # extension: how freely the gate allows (docs/gate.md)
    max_parallel: Annotated[int, Field(ge=1, le=256)] | None = None
    step_timeout_ms: TimeoutMs | None = None
    work_done_token: ProgressToken | None = None
    # extension: the planner of this run, over the configuration (docs/config.md)
    planner: PlannerChoice | None = None
    model: ModelName | None = None
    base_url: BaseUrl | None = None
    max_rounds: Annotated[int, Field(ge=1, le=20)] | None = None
    run_id: RunId | None = None  # the recorded run that planner "replay" re-runs
    # with "replay": only these steps of the recorded run (any round), as one plan
    step_ids: list[Annotated[str, Field(min_length=1, max_length=128)]] | None = Field(
        default=None, min_length=1, max_length=1000
    )

    @model_validator(mode="after")
    def _goal_or_steps(self) -> RunGoalParams:
        replay = self.planner == "replay"
        if replay and self.run_id is None:
            raise ValueError('runId: planner "replay" needs the runId of a recorded run')
        if self.run_id is not None and not replay:
            raise ValueError('runId: only planner "replay" takes a runId')
        if self.step_ids is not None and not replay:
            raise ValueError('stepIds: only planner "replay" takes stepIds')
        if self.steps is not None and self.planner is not None:
            raise ValueError("planner: explicit steps are their own plan; give one or the other")
        if self.goal is None and self.steps is None and not replay:
            raise ValueError("goal: either goal or steps is required")
        return self


class Risk(WireModel):
    level: RiskLevel
    reasons: list[str] = Field(default_factory=list)

    def wire(self) -> dict[str, Any]:
        return {"level": self.level, "reasons": list(self.reasons)}


class StepResult(WireModel):
    """A step as it ran (or as far as it has got, in ``agent/stepUpdated``).

    The engine builds these from values it has already checked (``model_construct``) and ``wire``
    writes the dict by hand: it runs for every status change of every step. The tests hold it to
    the model's own serialization, so the two cannot drift. ``reliedOn`` and ``widenings``
    (extensions) are left out when empty.
    """

    id: str
    kind: StepKind
    cmd: str | None = None
    path: str | None = None
    after: list[str] = Field(default_factory=list)
    risk: Risk
    decision: Decision
    relied_on: list[str] = Field(default_factory=list)  # what let it run beyond its level
    widenings: list[Widening] = Field(default_factory=list)  # what the sandbox grants it
    approved_by: ApprovedBy | None = None
    status: StepStatus
    exit_code: int | None = None
    stdout: str = ""
    stderr: str = ""
    truncated: bool = False
    duration_ms: int = 0

    @model_serializer(mode="wrap")
    def _drop_other_kind(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        data.pop("path" if self.kind == "runCli" else "cmd", None)
        for key in ("reliedOn", "relied_on", "widenings"):
            if not data.get(key, True):
                del data[key]
        return data

    def wire(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "kind": self.kind}
        if self.kind == "runCli":
            data["cmd"] = self.cmd
        else:
            data["path"] = self.path
        data["after"] = list(self.after)
        data["risk"] = self.risk.wire()
        data["decision"] = self.decision
        if self.relied_on:
            data["reliedOn"] = list(self.relied_on)
        if self.widenings:
            data["widenings"] = list(self.widenings)
        data["approvedBy"] = self.approved_by
        data["status"] = self.status
        data["exitCode"] = self.exit_code
        data["stdout"] = self.stdout
        data["stderr"] = self.stderr
        data["truncated"] = self.truncated
        data["durationMs"] = self.duration_ms
        return data

    @property
    def line(self) -> str:
        return (self.cmd or "") if self.kind == "runCli" else f"write {self.path}"


class Bits(WireModel):
    model_config = ConfigDict(extra="allow")
    t: float


class ModelUsage(WireModel):
    """What a run asked of the language model: rounds planned, requests made, tokens.

    Token counts are the servers' own figures, summed; null (unknown, not zero) as soon as one
    answer came without them.
    """

    rounds: int
    calls: int
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None


class RunResult(WireModel):
    """The answer to ``agent/runGoal`` (built by the engine with ``model_construct``; see
    StepResult for why ``wire`` is written by hand)."""

    run_id: str
    goal: str
    planner: str
    status: RunStatus
    steps: list[str]
    stdout: str
    deliverables: list[str]
    bits: Bits
    results: list[StepResult]
    trace: str
    error: str | None = None  # why a run failed as a whole (its trace could not be written)
    usage: ModelUsage | None = None  # extension: only when a language model planned
    summary: str | None = None  # extension: the model's last word on the goal, or why it stopped

    @model_serializer(mode="wrap")
    def _drop_no_error(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        for optional in ("error", "usage", "summary"):
            if getattr(self, optional) is None:
                data.pop(optional, None)
        return data

    def wire(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "runId": self.run_id,
            "goal": self.goal,
            "planner": self.planner,
            "status": self.status,
            "steps": list(self.steps),
            "stdout": self.stdout,
            "deliverables": list(self.deliverables),
            "bits": self.bits.model_dump(mode="json"),
            "results": [r.wire() for r in self.results],
            "trace": self.trace,
        }
        if self.error is not None:
            data["error"] = self.error
        if self.usage is not None:
            data["usage"] = self.usage.wire()
        if self.summary is not None:
            data["summary"] = self.summary
        return data
