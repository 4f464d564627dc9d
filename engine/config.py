"""Engine configuration: the `agent` section of the editor's settings, with documented defaults."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, SecretStr, field_validator

from engine.execute.sandbox import SandboxKind, SandboxMode, in_effect, unavailable
from engine.models import WireModel

EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*\*?$", max_length=128)]


class EngineConfig(WireModel):
    """Settings that apply to every run unless the request overrides them.

    Unknown keys are ignored (editors send whole settings sections), known keys are validated.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    planner: Literal["stub", "openai"] = "stub"
    model: str = "gpt-4o-mini"
    base_url: Annotated[str, Field(pattern=r"^https?://[^\s/]+")] | None = None
    api_key: SecretStr | None = Field(default=None, repr=False, exclude=True)
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
