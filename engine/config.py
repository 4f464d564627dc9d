"""Engine configuration: the documented settings (docs/config.md) as one validated EngineConfig.

Values come in layers, each overriding the one before: the defaults, the user's config file
(``<config dir>/config.toml``, engine.layers), the environment (``OPENAI_API_KEY``,
``OPENAI_BASE_URL``, ``AGENTD_<KEY>``), the editor's ``agent`` settings, and a request's own params
(``planner``, ``model``, ``baseUrl``, ``maxRounds``). Every layer uses the same camelCase keys.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, SecretStr, field_validator

from engine.execute.sandbox import SandboxKind, SandboxMode, in_effect, unavailable
from engine.models import BaseUrl, ModelName, WireModel
from engine.vocab import PlannerSetting

EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*\*?$", max_length=128)]

DEFAULT_MODEL = "gpt-4o-mini"


class EngineConfig(WireModel):
    """Settings that apply to every run unless the request overrides them.

    Unknown keys are ignored (editors send whole settings sections), known keys are validated.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    planner: PlannerSetting = "auto"
    model: ModelName = DEFAULT_MODEL
    base_url: BaseUrl | None = None
    api_key: SecretStr | None = Field(default=None, repr=False, exclude=True)
    max_rounds: Annotated[int, Field(ge=1, le=20)] = 3
    token_budget: Annotated[int, Field(ge=1000)] = 200_000
    planning_budget_ms: Annotated[int, Field(gt=0)] = 10 * 60 * 1000
    model_timeout_ms: Annotated[int, Field(gt=0)] = 120 * 1000
    model_retries: Annotated[int, Field(ge=0, le=10)] = 2
    answer_tokens: Annotated[int, Field(ge=64)] = 4096
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None  # None: the server's default
    context_bytes: Annotated[int, Field(ge=1024, le=1024 * 1024)] = 16 * 1024
    max_parallel: Annotated[int, Field(ge=1, le=256)] = 8
    step_timeout_ms: Annotated[int, Field(gt=0)] = 10 * 60 * 1000
    approval_timeout_ms: Annotated[int, Field(gt=0)] = 60 * 1000
    sandbox: SandboxMode = "auto"  # see engine.execute.sandbox
    env_allow: list[EnvName] = Field(default_factory=list, max_length=256)  # names or PREFIX_*
    max_steps: Annotated[int, Field(ge=1, le=1_000_000)] = 1000  # per plan
    step_cpu_seconds: Annotated[int, Field(ge=0)] = 3600  # per step; 0: no limit
    step_memory_bytes: Annotated[int, Field(ge=0)] = 8 << 30  # address space per process
    step_processes: Annotated[int, Field(ge=0)] = 4096  # per user (root is exempt)
    output_cap_bytes: Annotated[int, Field(ge=1024)] = 256 * 1024
    spill_cap_bytes: Annotated[int, Field(ge=0)] = 1 << 30  # full output kept past the cap
    kill_grace_ms: Annotated[int, Field(ge=0)] = 2000

    @field_validator("sandbox")
    @classmethod
    def _sandbox_available(cls, value: SandboxMode) -> SandboxMode:
        problem = unavailable(value)  # only an explicit bwrap or landlock can be unavailable
        if problem:
            raise ValueError(f"{value!r} cannot be used here: {problem}; use 'auto' or 'off'")
        return value

    @property
    def sandbox_in_effect(self) -> SandboxKind:
        """The sandbox that wraps commands on this machine (``auto`` resolved)."""
        return in_effect(self.sandbox)

    @property
    def model_planner(self) -> Literal["stub", "openai"]:
        """The planner free text goes to: ``auto`` means the model as soon as an API key or an
        OpenAI-compatible server is configured (anywhere), else none (the offline planner)."""
        if self.planner == "auto":
            return "openai" if self.api_key is not None or self.base_url else "stub"
        return self.planner

    @property
    def planner_label(self) -> str:
        """``stub`` or ``openai:<model>``: what health and ``agentd config`` call the planner."""
        return "stub" if self.model_planner == "stub" else f"openai:{self.model}"

    def merged(self, **changes: object) -> EngineConfig:
        """A copy with ``changes`` (Python or wire names) validated on top of this one."""
        data = self.model_dump(by_alias=False)
        data["api_key"] = self.api_key
        for key, value in changes.items():
            field = FIELD_BY_WIRE_NAME.get(key, key)
            data[field] = value
        return EngineConfig.model_validate(data)


# The settings' camelCase keys -> EngineConfig field names.
FIELD_BY_WIRE_NAME = {info.alias or name: name for name, info in EngineConfig.model_fields.items()}
WIRE_NAME_BY_FIELD = {name: wire for wire, name in FIELD_BY_WIRE_NAME.items()}
