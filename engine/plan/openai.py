"""The language-model planner: plans free text with any OpenAI-compatible server, round by round.

Each round is one conversation turn: the first carries the goal and a picture of the workspace,
later ones the outcomes of the previous round. Per request: the structured-output dialect the
server speaks (engine.plan.dialects, remembered for the session), bounded retries of 429 and 5xx
answers (the server's Retry-After, else 0.5 s, 1 s, 2 s ...), and within the run's budgets (rounds,
tokens, wall time). An answer that is not a valid plan gets one repair round with the problem;
then the planner gives up with a clear PlannerError. Every request and answer is traced
(``model.requested`` / ``model.answered``, redacted by the trace writer), the key never.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from engine.config import EngineConfig
from engine.errors import AgentError, ModelNotConfigured, PlannerError
from engine.models import Plan
from engine.plan.answer import InvalidAnswer, excerpt, parse_answer
from engine.plan.base import PlanContext
from engine.plan.client import Answer, Message, ModelCallError, ModelClient
from engine.plan.dialects import ModelSession
from engine.plan.prompts import describe_workspace, observation, repair, system_prompt, user_prompt
from engine.secrets import Redactor
from engine.vocab import Dialect

__all__ = ["MissingApiKey", "OpenAIPlanner", "PlannerError"]

MAX_BACKOFF_S = 8.0
Sleep = Callable[[float], Awaitable[None]]


class MissingApiKey(ModelNotConfigured):
    """The planner is ``openai`` for OpenAI itself, but no API key is configured anywhere."""

    def __init__(self, goal: str, model: str) -> None:
        AgentError.__init__(  # ModelNotConfigured's message assumes no model is chosen at all
            self,
            f"goal: {excerpt(goal, 80)!r} is free text and needs a language model: the planner "
            f"is openai (model {model!r}) but no API key is set. Export OPENAI_API_KEY where "
            "agentd runs (or set apiKey in the configuration), or export OPENAI_BASE_URL for a "
            "local server that needs no key; `agentd config` shows what is in effect.",
        )


class _Failure(Exception):
    """A planning problem; ``OpenAIPlanner.plan`` turns it into a redacted PlannerError."""


class OpenAIPlanner:
    """Plans a goal with chat completions; ``name`` is ``openai:<model>``. One per run (it holds
    the run's conversation); the ``session`` it is given outlives it."""

    def __init__(
        self,
        config: EngineConfig,
        session: ModelSession | None = None,
        *,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        key = config.api_key.get_secret_value().strip() if config.api_key else ""
        self.config = config
        self.session = session or ModelSession()
        self.client = ModelClient(model=config.model, api_key=key or None, base_url=config.base_url)
        self._needs_key = not key and config.base_url is None  # OpenAI itself
        self._redactor = Redactor([key] if key else [])
        self._sleep = sleep
        self._turns: list[Message] = []  # the conversation after the system prompt
        self._traced = 0  # turns already in the trace
        self._traced_system = ""
        self._attempt = 0

    def __repr__(self) -> str:  # never the key
        return f"OpenAIPlanner({self.client!r})"

    @property
    def name(self) -> str:
        return f"openai:{self.config.model}"

    async def plan(self, goal: str, workspace: Path, context: PlanContext | None = None) -> Plan:
        ctx = context or PlanContext()
        if not goal.strip():
            raise AgentError("goal: must not be blank")
        if self._needs_key:
            raise MissingApiKey(goal, self.config.model)
        self._attempt = 0
        try:
            if ctx.round == 1:
                picture = await asyncio.to_thread(
                    describe_workspace, workspace, goal, self.config.context_bytes, ctx.redact
                )
                self._turns = [{"role": "user", "content": user_prompt(goal, picture)}]
            else:
                stopped = self._spent(ctx)
                if stopped:
                    return Plan(goal=goal, planner=self.name, steps=[], summary=stopped)
                seen = observation(ctx.history[-1], self.config.context_bytes, ctx.redact)
                self._turns.append({"role": "user", "content": seen})
            plan = await self._answer(goal, ctx)
        except _Failure as exc:
            # The run's redactor (every secret of the environment) and the key, whatever the run.
            message = f"planner {self.name}: {ctx.redact(self._redactor.redact(str(exc)))}"
            self.session.last_error = message
            raise PlannerError(message) from None
        ctx.meter.rounds += 1
        if not plan.done and ctx.round >= self.config.max_rounds:
            limit = f"stopped after round {ctx.round} of maxRounds {self.config.max_rounds}"
            summary = f"{plan.summary} ({limit})" if plan.summary else limit
            plan = plan.model_copy(update={"done": True, "summary": summary})
        return plan

    # -- budgets ---------------------------------------------------------------------------------
    def _spent(self, ctx: PlanContext) -> str | None:
        """Why no further round may start, or None."""
        if ctx.meter.spent >= self.config.token_budget:
            return f"stopped: the token budget (tokenBudget {self.config.token_budget}) is spent"
        if self._remaining(ctx) <= 0:
            seconds = self.config.planning_budget_ms / 1000
            return f"stopped: the planning budget (planningBudgetMs, {seconds:g} s) is spent"
        return None

    def _remaining(self, ctx: PlanContext) -> float:
        return ctx.began + self.config.planning_budget_ms / 1000 - time.monotonic()

    def _timeout(self, ctx: PlanContext) -> tuple[float, bool]:
        """The next request's timeout, and whether the planning budget (not modelTimeoutMs) set
        it; raises when no time or no tokens are left."""
        stopped = self._spent(ctx)
        if stopped:
            raise _Failure(stopped.removeprefix("stopped: "))
        model_timeout = self.config.model_timeout_ms / 1000
        remaining = self._remaining(ctx)
        return min(model_timeout, remaining), remaining < model_timeout

    # -- one round: ask, check, repair once --------------------------------------------------------
    async def _answer(self, goal: str, ctx: PlanContext) -> Plan:
        repaired = False
        while True:
            answer, dialect, attempt, began = await self._complete(ctx)
            plan, problem = None, None
            try:
                if answer.refusal:
                    problem = f"the model refused: {excerpt(answer.refusal)}"
                else:
                    plan = parse_answer(answer.text, goal=goal, planner=self.name, round=ctx.round)
            except InvalidAnswer as exc:
                problem = str(exc)
                if answer.finish_reason == "length":
                    tokens = self.config.answer_tokens
                    problem = f"it was cut off at answerTokens ({tokens}); {problem}"
            outcome = "plan" if plan is not None else "invalid"
            self._record_answer(ctx, attempt, dialect, began, outcome, answer, problem)
            if plan is not None:
                self._add_answer(answer.text)
                return plan
            assert problem is not None
            if answer.refusal:
                raise _Failure(problem)
            if repaired:
                raise _Failure(f"the model's answer is not a valid plan, even after a repair: "
                               f"{problem}")  # fmt: skip
            repaired = True
            self._add_answer(answer.text)
            self._turns.append({"role": "user", "content": repair(problem)})

    def _add_answer(self, text: str) -> None:
        """The model's answer joins the conversation; model.answered has traced it already."""
        if self._traced == len(self._turns):
            self._traced += 1
        self._turns.append({"role": "assistant", "content": text})

    async def _complete(self, ctx: PlanContext) -> tuple[Answer, Dialect, int, float]:
        """A completion, in the first dialect the server takes, retried within the budgets."""
        endpoint = self.client.endpoint
        refusal: ModelCallError | None = None
        for dialect in self.session.dialects(endpoint):
            retries = 0
            while True:
                timeout, by_budget = self._timeout(ctx)
                attempt = self._record_request(ctx, dialect)
                began = time.monotonic()
                try:
                    answer = await self.client.complete(
                        self._messages(dialect),
                        dialect,
                        timeout_s=timeout,
                        answer_tokens=self.config.answer_tokens,
                        first_round=ctx.round == 1,
                        temperature=self.config.temperature,
                    )
                except ModelCallError as exc:
                    failed = "refused" if exc.kind == "dialect" else "failed"
                    self._record_answer(ctx, attempt, dialect, began, failed, None, str(exc))
                    if exc.kind == "dialect":
                        self.session.refused(endpoint, dialect)
                        refusal = exc
                        break
                    delay = self._backoff(exc, retries, ctx)
                    if delay is None:
                        if exc.kind == "timeout" and by_budget:
                            raise _Failure(
                                f"{exc} -- the planning budget (planningBudgetMs) ran out"
                            ) from None
                        raise _Failure(str(exc)) from None
                    retries += 1
                    await self._sleep(delay)
                    continue
                except asyncio.CancelledError:
                    self._record_answer(ctx, attempt, dialect, began, "cancelled", None, None)
                    raise
                self.session.spoke(endpoint, dialect)
                estimate = sum(len(m["content"]) for m in self._messages(dialect)) // 4
                ctx.meter.add(
                    answer.prompt_tokens,
                    answer.completion_tokens,
                    answer.total_tokens,
                    estimate + len(answer.text) // 4,
                )
                return answer, dialect, attempt, began
        raise _Failure(f"{endpoint} refused every way of asking for JSON; last: {refusal}")

    def _backoff(self, exc: ModelCallError, retries: int, ctx: PlanContext) -> float | None:
        """Seconds to wait before retrying, or None when it may not be retried."""
        if not exc.retryable or retries >= self.config.model_retries:
            return None
        delay = exc.retry_after if exc.retry_after is not None else 0.5 * 2**retries
        delay = min(delay, MAX_BACKOFF_S)
        return delay if delay < self._remaining(ctx) else None

    def _messages(self, dialect: Dialect) -> list[Message]:
        return [{"role": "system", "content": system_prompt(dialect)}, *self._turns]

    # -- the trace -------------------------------------------------------------------------------
    def _record_request(self, ctx: PlanContext, dialect: Dialect) -> int:
        """``model.requested``: the turns not traced yet (and the system prompt when it changed),
        so the trace holds the whole conversation once."""
        self._attempt += 1
        system = system_prompt(dialect)
        data: dict[str, Any] = {
            "round": ctx.round,
            "attempt": self._attempt,
            "planner": self.name,
            "model": self.config.model,
            "endpoint": self.client.endpoint,
            "dialect": dialect,
            "messageCount": len(self._turns) + 1,
            "messages": self._turns[self._traced :],
        }
        if system != self._traced_system:
            data["system"] = self._traced_system = system
        self._traced = len(self._turns)
        ctx.record("model.requested", **data)
        return self._attempt

    def _record_answer(
        self,
        ctx: PlanContext,
        attempt: int,
        dialect: Dialect,
        began: float,
        outcome: str,
        answer: Answer | None,
        error: str | None,
    ) -> None:
        data: dict[str, Any] = {
            "round": ctx.round,
            "attempt": attempt,
            "dialect": dialect,
            "outcome": outcome,
            "durationMs": int((time.monotonic() - began) * 1000),
        }
        if answer is not None:
            data["answer"] = answer.text
            data["finishReason"] = answer.finish_reason
            data["usage"] = (
                None
                if answer.prompt_tokens is None or answer.completion_tokens is None
                else {
                    "promptTokens": answer.prompt_tokens,
                    "completionTokens": answer.completion_tokens,
                    "totalTokens": answer.total_tokens,
                }
            )
        if error is not None:
            data["error"] = self._redactor.redact(error)
        ctx.record("model.answered", **data)
