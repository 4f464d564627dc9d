"""The errors the engine raises, by kind. Front-ends decide how to answer them (the language server
maps them to JSON-RPC codes in ``server/core/errors.py``); the engine knows no protocol."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError

from pathlib import Path


class AgentError(Exception):
    """A clear, user-facing error about the request: its message says what is wrong and, where it
    can, how to fix it. Messages quote user input only in short, truncated pieces (``excerpt``)."""


class UnknownGoal(AgentError):
    def __init__(self, goal: str, known: list[str]) -> None:
        listed = ", ".join(known) if known else "(none)"
        super().__init__(f"goal: unknown goal {goal!r}; known goals: {listed}")
        self.goal = goal
        self.known = known


class ModelNotConfigured(AgentError):
    def __init__(self, goal: str) -> None:
        super().__init__(
            f"goal: {excerpt(goal)} is free text and needs a language model, but none is "
            "configured. Export OPENAI_API_KEY (OpenAI; the model defaults to gpt-4o-mini) or "
            "OPENAI_BASE_URL (an OpenAI-compatible server such as llama.cpp, Ollama or vLLM, "
            "e.g. http://127.0.0.1:8080/v1), or set planner, model and baseUrl in "
            f"{_config_file()} or the editor's `agent` settings; `agentd config` shows what is "
            "in effect. Or run a goal id (agent/listGoals lists them)."
        )


def _config_file() -> str:
    from engine.layers import config_file

    return str(config_file())


class NothingToRun(AgentError):
    """A workspace goal found nothing to do; the message says what was looked for and where."""

    def __init__(self, goal: str, workspace: Path, looked_for: str) -> None:
        super().__init__(
            f"goal: {goal!r} found nothing to do in {workspace}: looked for {looked_for}"
        )


class GoalsFileError(AgentError):
    """``.agent/goals.toml`` is unreadable or invalid; the message names the file and the goal."""


class InvalidPlan(AgentError):
    """A plan (from a planner or explicit steps) is not a valid DAG of valid steps."""


class WorkspaceError(AgentError):
    """The workspace is missing, not a directory, or not given."""


class TraceError(AgentError):
    """A trace cannot be found or read."""


class PlannerError(AgentError):
    """A valid request whose planning failed (the model was unreachable, refused, timed out or
    answered nonsense); the message says why and never holds a secret."""


class ReplayError(AgentError):
    """A recorded run cannot be replayed (no trace, a broken one, content that was not kept)."""


def excerpt(text: str, limit: int = 80) -> str:
    """``text`` as a short quoted piece for an error message: an echo never grows with the input."""
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def describe_validation_error(exc: ValidationError, *, camel: bool = False) -> str:
    """``maxParallel: Input should be ...; steps[0].cmd: Field required``: fields, never inputs.

    Inputs are left out on purpose: they may hold secrets (``apiKey``) or megabytes of content.
    ``camel`` turns Python field names back into wire names (for models validated by name).
    """
    from pydantic.alias_generators import to_camel

    parts = []
    for error in exc.errors(include_url=False, include_input=False):
        where = ""
        for item in error.get("loc", ()):
            if isinstance(item, int):
                where += f"[{item}]"
            elif item not in ("runCli", "writeFile"):  # the discriminator tag adds nothing
                name = to_camel(item) if camel else item
                where += f".{name}" if where else name
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        # A model-level check already names its field ("goal: either goal or steps ...").
        parts.append(message if not where or message.startswith(where) else f"{where}: {message}")
    return "; ".join(parts) or str(exc)
