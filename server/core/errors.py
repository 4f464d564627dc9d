"""How every front-end answers the engine's errors: one map from error kind to JSON-RPC code, and
messages that never show Python internals to a user."""

from __future__ import annotations

import logging
import secrets

from engine.errors import AgentError, PlannerError
from server import wire

log = logging.getLogger(__name__)


def error_code(exc: AgentError) -> int:
    """The JSON-RPC code for an engine error: a failed plan is a failed request (-32803); every
    other AgentError is about the request's params (-32602)."""
    return wire.REQUEST_FAILED if isinstance(exc, PlannerError) else wire.INVALID_PARAMS


def internal_error_message(method: str, exc: BaseException) -> str:
    """Log an unexpected failure with its traceback under an incident id; the user sees the id,
    never the exception's text (it may quote internals or input)."""
    incident = secrets.token_hex(4)
    log.error("%s failed unexpectedly (incident %s)", method, incident, exc_info=exc)
    return f"{method}: internal error (incident {incident}; the server log has the details)"
