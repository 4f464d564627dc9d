"""Structured output in the dialect a server speaks, found once per server and remembered.

| dialect | request | who speaks it |
|---|---|---|
| ``json_schema`` | ``response_format: {"type": "json_schema", "json_schema": {name, schema, strict}}`` | OpenAI, vLLM, recent Ollama |
| ``json_object`` | ``response_format: {"type": "json_object", "schema": ...}`` | llama-cpp-python (grammar-constrained; it refuses ``json_schema``) |
| ``text`` | no ``response_format``; the schema is in the system prompt | anything else |

They are tried in that order; a server that refuses one (an HTTP error naming the response
format) gets the next, and the session remembers what each endpoint accepted.
"""  # noqa: E501

from __future__ import annotations

import re
from typing import Any

from engine.vocab import Dialect

__all__ = ["DIALECTS", "ModelSession", "is_refusal", "response_format"]

DIALECTS: tuple[Dialect, ...] = ("json_schema", "json_object", "text")
# An HTTP error about the request's response format, not about the model or the load.
_REFUSAL_STATUS = frozenset({400, 415, 422, 500, 501})
_ABOUT_FORMAT = re.compile(r"response_format|json_schema|json_object|\bschema\b", re.IGNORECASE)


def response_format(dialect: Dialect, *, first_round: bool) -> dict[str, Any] | None:
    """The ``response_format`` of a request in ``dialect`` (None: plain text)."""
    from engine.plan.answer import SCHEMA_NAME, answer_schema

    if dialect == "json_schema":
        schema = answer_schema(first_round)
        spec = {"name": SCHEMA_NAME, "schema": schema, "strict": True}
        return {"type": "json_schema", "json_schema": spec}
    if dialect == "json_object":
        return {"type": "json_object", "schema": answer_schema(first_round, grammar=True)}
    return None


def is_refusal(status: int, message: str) -> bool:
    """Whether an HTTP error says the server does not take this way of asking for JSON."""
    return status in _REFUSAL_STATUS and bool(_ABOUT_FORMAT.search(message))


class ModelSession:
    """What one agentd session learns about model servers: the dialect each endpoint speaks, and
    the last failure (for ``agent/health``). One per Engine; planners of its runs share it."""

    def __init__(self) -> None:
        self._dialects: dict[str, Dialect] = {}
        self.last_error: str | None = None

    def dialects(self, endpoint: str) -> tuple[Dialect, ...]:
        """The dialects to try for ``endpoint``, the one it is known to speak first."""
        known = self._dialects.get(endpoint)
        return DIALECTS if known is None else DIALECTS[DIALECTS.index(known) :]

    def dialect(self, endpoint: str) -> Dialect | None:
        return self._dialects.get(endpoint)

    def spoke(self, endpoint: str, dialect: Dialect) -> None:
        self._dialects[endpoint] = dialect

    def refused(self, endpoint: str, dialect: Dialect) -> None:
        """``endpoint`` refused ``dialect``: from now on start with the next one."""
        index = DIALECTS.index(dialect)
        if index + 1 < len(DIALECTS):
            self._dialects[endpoint] = DIALECTS[index + 1]
