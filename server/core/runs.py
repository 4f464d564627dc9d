"""The session's runs as any front-end tracks them: which progress token reports on which run, so
that every cancellation route reaches the right run, and the one-line outcome of a run."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from engine.errors import AgentError

if TYPE_CHECKING:
    from engine.models import RunResult

log = logging.getLogger(__name__)

Token = int | str


class TokenInUse(AgentError):
    def __init__(self, token: Token) -> None:
        super().__init__(f"workDoneToken: {token!r} is in use by another run")


class RunTokens:
    """Progress token -> run id, for ``window/workDoneProgress/cancel``."""

    def __init__(self, cancel: Callable[[str], bool]) -> None:
        self._cancel = cancel
        self._runs: dict[Token, str] = {}

    def check_free(self, token: Token | None) -> None:
        if token is not None and token in self._runs:
            raise TokenInUse(token)

    def bind(self, token: Token | None, run_id: str) -> None:
        if token is not None:
            self._runs[token] = run_id

    def release(self, token: Token | None) -> None:
        if token is not None:
            self._runs.pop(token, None)

    def cancel(self, token: Token) -> None:
        """Cancel the run that reports on ``token`` (an unknown token is ignored)."""
        run_id = self._runs.get(token)
        if run_id is not None:
            log.info("progress token %r cancelled: cancelling run %s", token, run_id)
            self._cancel(run_id)


def outcome_line(result: RunResult) -> str:
    """One line for the end of a run: ``succeeded: 3/3 steps succeeded, trust 0.9``."""
    total = len(result.results)
    if result.status == "planned":
        return f"planned: {total} step{'' if total == 1 else 's'}"
    succeeded = sum(1 for r in result.results if r.status == "succeeded")
    line = f"{result.status}: {succeeded}/{total} steps succeeded, trust {result.bits.t}"
    return f"{line} ({result.error})" if result.error else line
