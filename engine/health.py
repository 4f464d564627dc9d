"""``agent/health``: what agentd knows of its own health (the engine's part, the language model,
the sandbox's protections) and what the session adds."""

from __future__ import annotations

from pydantic import Field

from engine.models import Dialect, WireModel


class HealthParams(WireModel):
    """``agent/health``: ``{}``, or (extension) ``{"checkModel": true}`` to test the language
    model's endpoint too (a short ``GET /models``; off by default, since health is asked often)."""

    check_model: bool = False


class ModelHealth(WireModel):
    """The language model as ``agent/health`` sees it (extension), the endpoint tested."""

    planner: str  # openai:<model>
    endpoint: str  # without credentials or query
    api_key: str  # "set, from OPENAI_API_KEY" / "not set": never the key
    reachable: bool | None  # answered GET /models; None when not tested
    dialect: Dialect | None  # the structured-output dialect this session found for it
    problem: str | None = None  # why runs will fail, in words
    note: str | None = None  # worth knowing, not a failure (e.g. the model is not listed)
    last_error: str | None = None  # the session's last failed model call


class SandboxProtection(WireModel):
    """One protection a step has (or lacks) under the sandbox in effect."""

    name: str
    active: bool
    note: str = ""


class EngineHealth(WireModel):
    """What the engine knows of its own health (``agent/health`` adds the session's part)."""

    version: str
    planner: str
    sandbox: str  # the sandbox in effect: bwrap, landlock or off
    sandbox_requested: str  # the setting
    sandbox_protections: list[SandboxProtection]
    python: str
    platform: str
    active_runs: int
    max_parallel: int
    step_timeout_ms: int
    approval_timeout_ms: int
    model_configured: bool  # the openai planner has an API key
    model: ModelHealth | None = None  # extension: when free text goes to a language model
    problems: list[str] = Field(default_factory=list)  # extension: what is wrong, in words


class HealthResult(EngineHealth):
    """The answer to ``agent/health``."""

    approvals: str  # how this session asks: requestPermission, showMessageRequest or none
    workspace: str | None  # the session's default workspace
    policy_file: str  # the user's policy file (it may not exist)
    policy_rules: int  # rules in force in the default workspace (both files)
    policy_errors: list[str]  # broken policy files: while any is, every step at least asks
