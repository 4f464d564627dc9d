"""Engine configuration: the `agent` section of the editor's settings, with documented defaults."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, SecretStr, field_validator

from engine.models import WireModel

SandboxMode = Literal["off", "auto"]
"""``auto`` uses a sandbox when one is available; this version has none yet, so it runs unsandboxed
(``agent/health`` reports the mode in effect). ``bwrap`` arrives with the bubblewrap sandbox."""


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
    sandbox: SandboxMode = "off"
    output_cap_bytes: Annotated[int, Field(ge=1024)] = 256 * 1024
    spill_cap_bytes: Annotated[int, Field(ge=0)] = 1 << 30  # full output kept past the cap
    kill_grace_ms: Annotated[int, Field(ge=0)] = 2000

    @field_validator("sandbox", mode="before")
    @classmethod
    def _sandbox_available(cls, value: object) -> object:
        if value == "bwrap":
            raise ValueError(
                "'bwrap' is not available in this version of agentd (the bubblewrap sandbox "
                "comes in a later release); use 'off' or 'auto'"
            )
        return value

    @property
    def sandbox_in_effect(self) -> str:
        """The sandbox that actually wraps commands: none yet, whatever was asked for."""
        return "off"

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
