"""The language model's part of ``agent/health`` / ``agentd doctor``: the configured endpoint, what
this session has learnt of it, and (when asked) a test of it: one short ``GET /models``."""

from __future__ import annotations

from engine.config import EngineConfig
from engine.health import ModelHealth
from engine.plan.client import ModelCallError, ModelClient
from engine.plan.dialects import ModelSession

__all__ = ["PROBE_TIMEOUT_S", "model_health"]

PROBE_TIMEOUT_S = 3.0


async def model_health(
    config: EngineConfig,
    session: ModelSession,
    key_source: str | None,
    *,
    probe: bool = True,
    timeout_s: float = PROBE_TIMEOUT_S,
) -> ModelHealth | None:
    """None when free text goes to no model (the offline planner); ``reachable`` is None when
    the endpoint was not tested."""
    if config.model_planner == "stub":
        return None
    key = config.api_key.get_secret_value().strip() if config.api_key else ""
    client = ModelClient(model=config.model, api_key=key or None, base_url=config.base_url)
    health = ModelHealth(
        planner=config.planner_label,
        endpoint=client.endpoint,
        api_key=f"set, from {key_source}" if key and key_source else "set" if key else "not set",
        reachable=None,
        dialect=session.dialect(client.endpoint),
        last_error=session.last_error,
    )
    if not key and client.is_openai:
        health.problem = "no API key: export OPENAI_API_KEY, or OPENAI_BASE_URL for a local server"
        return health
    if not probe:
        return health
    try:
        listed = await client.models(timeout_s=timeout_s)
    except ModelCallError as exc:
        health.reachable = exc.kind not in ("timeout", "connection")
        health.problem = str(exc)
        return health
    health.reachable = True
    if listed and config.model not in listed:
        shown = ", ".join(listed[:5]) + (", ..." if len(listed) > 5 else "")
        health.note = (
            f"the server does not list the model {config.model!r} (it lists {shown}); "
            "local servers often answer for any name"
        )
    return health
