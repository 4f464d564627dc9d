"""One request to an OpenAI-compatible server through the ``openai`` SDK (imported lazily), and
every way it can fail as a ``ModelCallError`` with a message a user can act on.

Retries are not done here (the SDK's are switched off): the planner retries what ``retryable``
says, within its budgets, and traces every attempt.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from engine.plan.answer import excerpt
from engine.plan.dialects import is_refusal, response_format
from engine.vocab import Dialect

if TYPE_CHECKING:
    from openai import APIStatusError, AsyncOpenAI

__all__ = [
    "OPENAI_HOST",
    "Answer",
    "ModelCallError",
    "ModelClient",
    "safe_url",
]

OPENAI_HOST = "api.openai.com"
OPENAI_URL = f"https://{OPENAI_HOST}/v1"
NO_KEY = "agentd-no-key"  # sent to servers that need none (local ones); not a secret
MAX_RETRY_AFTER_S = 30.0  # a server asking for a longer wait is not waited for
_CONTEXT = re.compile(
    r"context[ _-]?(length|window|size)|maximum context|too many tokens|exceeds? .*context"
    r"|prompt is too long",
    re.IGNORECASE,
)
_RETRYABLE_STATUS = frozenset({408, 409, 429})

Failure = Literal[
    "dialect", "timeout", "connection", "key", "forbidden", "model", "context", "status", "other"
]
Message = dict[str, str]


@dataclass(frozen=True, slots=True)
class Answer:
    """A completion: its text, why it ended, and the tokens the server says it used."""

    text: str
    finish_reason: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    total_tokens: int | None
    refusal: str | None = None


class ModelCallError(Exception):
    """A request that got no usable completion; ``str()`` is the message for the user."""

    def __init__(
        self,
        kind: Failure,
        message: str,
        *,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.kind: Failure = kind
        self.retryable = retryable
        self.retry_after = retry_after  # seconds the server asked us to wait


class ModelClient:
    """An OpenAI-compatible endpoint, as the planner and the health check use it."""

    def __init__(self, *, model: str, api_key: str | None, base_url: str | None) -> None:
        self.model = model
        self.base_url = base_url
        self._api_key = api_key

    def __repr__(self) -> str:  # never the key
        return f"ModelClient(model={self.model!r}, base_url={self.base_url!r})"

    @property
    def endpoint(self) -> str:
        """Where requests go, without credentials or query (either may hold a key)."""
        return safe_url(self.base_url or OPENAI_URL)

    @property
    def is_openai(self) -> bool:
        return self.base_url is None or urlsplit(self.base_url).hostname == OPENAI_HOST

    def _client(self, timeout_s: float) -> AsyncOpenAI:
        import openai

        # Both given explicitly: the SDK never falls back to its own environment variables, so
        # the configuration (engine.layers) is the one source.
        return openai.AsyncOpenAI(
            api_key=self._api_key or NO_KEY,
            base_url=self.base_url or OPENAI_URL,
            timeout=timeout_s,
            max_retries=0,
        )

    async def complete(
        self,
        messages: Sequence[Message],
        dialect: Dialect,
        *,
        timeout_s: float,
        answer_tokens: int,
        first_round: bool = False,
        temperature: float | None = None,
    ) -> Answer:
        """One chat completion asking for the plan schema in ``dialect``."""
        body: dict[str, Any] = {}
        format_ = response_format(dialect, first_round=first_round)
        if format_ is not None:  # as raw JSON: the SDK's types know no json_object "schema"
            body["response_format"] = format_
        # OpenAI's newer models take only max_completion_tokens; other servers know max_tokens.
        body["max_completion_tokens" if self.is_openai else "max_tokens"] = answer_tokens
        if temperature is not None:  # some models take none: sent only when configured
            body["temperature"] = temperature
        async with self._client(timeout_s) as client:
            try:
                response = await client.chat.completions.create(
                    model=self.model,
                    messages=list(messages),  # type: ignore[arg-type]
                    extra_body=body,
                )
            except Exception as exc:
                raise self._failure(exc, timeout_s) from None
        if not response.choices:
            raise ModelCallError("other", f"{self.endpoint} answered without any choice")
        choice = response.choices[0]
        usage = response.usage
        return Answer(
            text=choice.message.content or "",
            finish_reason=choice.finish_reason,
            prompt_tokens=usage.prompt_tokens if usage else None,
            completion_tokens=usage.completion_tokens if usage else None,
            total_tokens=usage.total_tokens if usage else None,
            refusal=getattr(choice.message, "refusal", None),
        )

    async def models(self, *, timeout_s: float) -> list[str]:
        """The ids of the models the server lists (``GET /models``)."""
        async with self._client(timeout_s) as client:
            try:
                page = await client.models.list()
            except Exception as exc:
                raise self._failure(exc, timeout_s) from None
            return [model.id for model in page.data]

    def _failure(self, exc: Exception, timeout_s: float) -> ModelCallError:
        """``exc`` from the SDK as a ModelCallError; anything else is a bug and raised as is."""
        import openai

        where = self.endpoint
        if isinstance(exc, openai.APITimeoutError):
            return ModelCallError(
                "timeout",
                f"no answer from {where} within {timeout_s:g} s (modelTimeoutMs; a local model "
                "on a CPU may need longer)",
            )
        if isinstance(exc, openai.APIConnectionError):
            return ModelCallError(
                "connection",
                f"cannot reach the model server at {where}: {_cause(exc)}. Is it running, and is "
                "baseUrl (OPENAI_BASE_URL) right?",
            )
        if isinstance(exc, openai.APIStatusError):
            return self._status_failure(exc)
        if isinstance(exc, openai.APIError):
            return ModelCallError(
                "other", f"unexpected answer from {where}: {excerpt(exc.message)}"
            )
        raise exc

    def _status_failure(self, exc: APIStatusError) -> ModelCallError:
        status = exc.status_code
        detail = _detail(exc.body) or excerpt(exc.message)
        said = f"{self.endpoint} answered HTTP {status}" + (f": {detail}" if detail else "")
        code = exc.code if isinstance(exc.code, str) else ""
        if is_refusal(status, detail):
            return ModelCallError("dialect", said)
        if status == 401:
            return ModelCallError(
                "key", f"{said}. Check OPENAI_API_KEY (or apiKey in the configuration)."
            )
        if status == 403:
            return ModelCallError("forbidden", f"{said}. Check that the key may use this model.")
        if status == 404:
            return ModelCallError(
                "model",
                f"{said}. Check the model {self.model!r} (--model, AGENTD_MODEL, the model "
                "setting) and the base URL.",
            )
        if code == "context_length_exceeded" or _CONTEXT.search(detail):
            return ModelCallError(
                "context",
                f"{said}. The prompt does not fit the model's context: lower contextBytes or "
                "maxRounds, or use a model with a larger context.",
            )
        if status == 429 and code == "insufficient_quota":
            return ModelCallError("status", f"{said}. The account's quota is used up.")
        retryable = status in _RETRYABLE_STATUS or status >= 500
        hint = " Rate limit reached." if status == 429 else ""
        return ModelCallError(
            "status", f"{said}.{hint}", retryable=retryable, retry_after=_retry_after(exc)
        )


def _detail(body: object) -> str:
    """The error message of a server's error body (the SDK unwraps ``{"error": {...}}``)."""
    if isinstance(body, dict):
        message = body.get("message") or body.get("detail") or body.get("error")
        if isinstance(message, str):
            return excerpt(message).rstrip(".")
        if message is not None:
            return excerpt(str(message))
        return ""
    return excerpt(body).rstrip(".") if isinstance(body, str) else ""


def _retry_after(exc: APIStatusError) -> float | None:
    headers = exc.response.headers
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) * scale
        except ValueError:
            continue  # an HTTP date: use our own backoff
        if 0 <= seconds <= MAX_RETRY_AFTER_S:
            return seconds
    return None


def _cause(exc: BaseException) -> str:
    """The innermost reason of a connection error ("Connection refused"), not the SDK's wrapper."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return excerpt(str(exc) or type(exc).__name__)


def safe_url(url: str) -> str:
    """``url`` without credentials or query (either may hold a key)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{host}{port}{parts.path}" if parts.scheme else "the model server"
