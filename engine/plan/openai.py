"""The language-model planner: one OpenAI chat completion turns a free-text goal into a Plan.

Works with OpenAI and with any OpenAI-compatible server (``agent.baseUrl``). The SDK is imported
when a plan is asked for, never when this module is: ``import openai`` costs about half a second.

One round, in three parts that later observe-and-replan rounds can reuse: ``build_messages``
(goal and workspace facts) → ``OpenAIPlanner.complete`` (the model's answer) → ``parse_plan``
(the answer as a validated Plan). Every failure is a ``PlannerError`` whose message never holds
the API key.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from pydantic import ValidationError

from engine.config import EngineConfig
from engine.errors import AgentError, ModelNotConfigured, PlannerError, describe_validation_error
from engine.models import Plan
from engine.plan.detect import detect
from engine.secrets import Redactor

if TYPE_CHECKING:
    from openai import APIStatusError
    from openai.types.chat import ChatCompletionMessageParam

__all__ = [
    "MAX_STEPS",
    "MissingApiKey",
    "OpenAIPlanner",
    "PlannerError",
    "build_messages",
    "parse_plan",
    "resolve_api_key",
]

MAX_STEPS = 50
MAX_LISTING = 50  # top-level workspace entries shown to the model
DEFAULT_TIMEOUT_S = 60.0
DEFAULT_MAX_RETRIES = 1
API_KEY_ENV = "OPENAI_API_KEY"
_DETAIL_CHARS = 300  # of a server's error message or a bad answer quoted in an error
# A fenced block, to the last fence: a written file's content may hold fences of its own.
_FENCED = re.compile(r"```[\w-]*[ \t]*\n(.*)```", re.DOTALL)

SYSTEM_PROMPT = """\
You are the planner of agentd, which runs plans in a software workspace on the user's behalf.
Turn the user's goal into a plan. Answer with one JSON object and nothing else, of this form:

{{"steps": [
  {{"id": "s1", "kind": "runCli", "cmd": "<shell command>", "after": [], "timeoutMs": 60000}},
  {{"id": "s2", "kind": "writeFile", "path": "<relative/path>", "content": "<whole file>", \
"after": ["s1"]}}
]}}

Rules:
- "kind" is "runCli" (run "cmd") or "writeFile" (write "content" to "path", replacing the file).
- "id" (letters, digits, _ . : -), "after" (ids of steps that must succeed first) and "timeoutMs" \
(milliseconds) are optional. Steps without "after" run in parallel: use "after" for order.
- Commands run non-interactively with `sh -c` in the workspace root: no prompts, editors, pagers \
or watch modes; pass flags such as --yes where a tool would ask.
- Never use sudo. Do not use the network unless the goal needs it.
- "path" is relative to the workspace root and stays inside it.
- Prefer small steps that each do one thing; at most {max_steps} steps.
- Every step is checked for risk and may need the user's approval before it runs.

The workspace:
- path: {path}
- project: {project}
- top-level entries: {listing}
"""


class MissingApiKey(ModelNotConfigured):
    """``agent.planner`` is ``openai`` but no API key is set (neither setting nor environment)."""

    def __init__(self, goal: str, model: str) -> None:
        AgentError.__init__(  # ModelNotConfigured's message assumes no model is chosen at all
            self,
            f"goal: {goal!r} is free text and needs a language model: `agent.planner` is "
            f'"openai" (model {model!r}) but no API key is set. Export {API_KEY_ENV} where '
            "agentd runs, or set `agent.apiKey`; or run a built-in goal (agent/listGoals "
            "lists them).",
        )


class _Failure(Exception):
    """A planning problem; ``OpenAIPlanner.plan`` turns it into a redacted PlannerError."""


def resolve_api_key(config: EngineConfig, env: Mapping[str, str] | None = None) -> str | None:
    """The API key: the ``apiKey`` setting, else ``$OPENAI_API_KEY``; None when neither is set."""
    if config.api_key is not None:
        key = config.api_key.get_secret_value().strip()
    else:
        key = (os.environ if env is None else env).get(API_KEY_ENV, "").strip()
    return key or None


class OpenAIPlanner:
    """Plans a goal with one chat completion in JSON mode; ``name`` is ``openai:<model>``."""

    def __init__(
        self,
        *,
        model: str,
        api_key: str | None,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        max_retries: int = DEFAULT_MAX_RETRIES,
    ) -> None:
        self.model = model
        self.base_url = base_url
        self.timeout = timeout
        self.max_retries = max_retries
        self._api_key = api_key
        self._redactor = Redactor([api_key] if api_key else [])

    @classmethod
    def from_config(
        cls, config: EngineConfig, env: Mapping[str, str] | None = None
    ) -> OpenAIPlanner:
        return cls(
            model=config.model,
            api_key=resolve_api_key(config, env),
            base_url=config.base_url or None,
        )

    def __repr__(self) -> str:  # never the key
        return f"OpenAIPlanner(model={self.model!r}, base_url={self.base_url!r})"

    @property
    def name(self) -> str:
        return f"openai:{self.model}"

    async def plan(self, goal: str, workspace: Path) -> Plan:
        if not goal.strip():
            raise AgentError("goal: must not be blank")
        if self._api_key is None:
            raise MissingApiKey(goal, self.model)
        try:
            answer = await self.complete(build_messages(goal, workspace))
            return parse_plan(answer, goal=goal, planner=self.name)
        except _Failure as exc:
            raise PlannerError(f"planner {self.name}: {self._redactor.redact(str(exc))}") from None

    async def complete(self, messages: list[ChatCompletionMessageParam]) -> str:
        """The model's answer to ``messages`` (JSON mode); raises ``_Failure`` saying why not."""
        import openai

        assert self._api_key is not None
        client = openai.AsyncOpenAI(
            api_key=self._api_key,
            base_url=self.base_url,
            timeout=self.timeout,
            max_retries=self.max_retries,
        )
        where = _safe_url(str(client.base_url))
        try:
            async with client:
                response = await client.chat.completions.create(
                    model=self.model,
                    messages=messages,
                    response_format={"type": "json_object"},
                )
        except openai.APITimeoutError:
            raise _Failure(f"no answer from {where} within {self.timeout:g} s") from None
        except openai.APIConnectionError as exc:
            raise _Failure(f"cannot reach the model server at {where}: {_cause(exc)}") from None
        except openai.APIStatusError as exc:
            raise _Failure(_status_problem(exc, where)) from None
        except openai.APIError as exc:
            raise _Failure(f"unexpected answer from {where}: {_excerpt(exc.message)}") from None
        if not response.choices:
            raise _Failure("the model's answer has no choices")
        choice = response.choices[0]
        content = choice.message.content
        if choice.finish_reason == "length":
            raise _Failure("the model's answer was cut off at its output limit; try a smaller goal")
        if not content:
            refusal = getattr(choice.message, "refusal", None)
            if refusal:
                raise _Failure(f"the model refused: {_excerpt(str(refusal))}")
            raise _Failure("the model's answer is empty")
        return content


def build_messages(goal: str, workspace: Path) -> list[ChatCompletionMessageParam]:
    """The system prompt (plan format, rules, workspace facts) and the goal as the user's turn."""
    system = SYSTEM_PROMPT.format(
        max_steps=MAX_STEPS,
        path=workspace,
        project=describe_project(workspace),
        listing=list_workspace(workspace),
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": goal}]


def parse_plan(answer: str, *, goal: str, planner: str) -> Plan:
    """The model's answer (JSON, possibly in a code fence) as a validated, non-empty Plan."""
    text = answer.strip()
    fenced = None if text.startswith("{") else _FENCED.search(text)
    text = fenced.group(1).strip() if fenced else text
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _Failure(f"the model's answer is not JSON ({exc.msg}): {_excerpt(answer)}") from None
    steps = data.get("steps") if isinstance(data, dict) else None
    if not isinstance(steps, list):
        raise _Failure(
            'the model\'s answer is not a plan: expected a JSON object {"steps": [...]}, got '
            + _excerpt(text)
        )
    if not steps:
        raise _Failure("the model's plan has no steps")
    if len(steps) > MAX_STEPS:
        raise _Failure(f"the model's plan has {len(steps)} steps; at most {MAX_STEPS} are allowed")
    try:
        return Plan.model_validate({"goal": goal, "planner": planner, "steps": steps})
    except ValidationError as exc:
        problem = describe_validation_error(exc, camel=True)
        raise _Failure(f"the model's plan is invalid: {problem}") from None


def describe_project(workspace: Path) -> str:
    """The kinds of project ``detect`` finds, in a few words."""
    try:
        project = detect(workspace)
    except OSError:
        return "unknown (cannot inspect the workspace)"
    kinds = []
    if project.python:
        ruff = f", ruff: {project.ruff}" if project.ruff else ""
        kinds.append(f"Python (interpreter: {project.python}{ruff})")
    if project.npm_scripts:
        kinds.append(f"Node (npm scripts: {', '.join(sorted(project.npm_scripts))})")
    if project.rust:
        kinds.append("Rust (Cargo.toml)")
    if project.go:
        kinds.append("Go (go.mod)")
    if project.git:
        kinds.append("a git repository" if project.git_has_commits else "a new git repository")
    return "; ".join(kinds) or "none detected"


def list_workspace(workspace: Path, limit: int = MAX_LISTING) -> str:
    """Up to ``limit`` top-level names, sorted, directories with a trailing ``/``."""
    try:
        with os.scandir(workspace) as entries:
            names = sorted(e.name + ("/" if e.is_dir() else "") for e in entries)
    except OSError as exc:
        return f"(cannot list: {exc.strerror})"
    if not names:
        return "(empty)"
    shown = ", ".join(names[:limit])
    return shown if len(names) <= limit else f"{shown} (and {len(names) - limit} more)"


def _status_problem(exc: APIStatusError, where: str) -> str:
    status = exc.status_code
    body = exc.body  # the SDK unwraps {"error": {...}} already
    detail = body.get("message") if isinstance(body, dict) else body
    detail = _excerpt(detail).rstrip(".") if isinstance(detail, str) else ""
    said = f": {detail}" if detail else ""
    hint = {
        401: f" Check {API_KEY_ENV} or the `agent.apiKey` setting.",
        403: " Check that the API key may use this model.",
        404: " Check `agent.model` and `agent.baseUrl`.",
        429: " Rate limit or quota reached; try again later.",
    }.get(status, "")
    return f"{where} answered HTTP {status}{said}.{hint}"


def _cause(exc: BaseException) -> str:
    """The innermost reason of a connection error ("Connection refused"), not the SDK's wrapper."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return _excerpt(str(exc) or type(exc).__name__)


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _DETAIL_CHARS else flat[: _DETAIL_CHARS - 3] + "..."


def _safe_url(url: str) -> str:
    """``url`` without credentials or query (either may hold a key)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}" if parts.scheme else "the model server"
