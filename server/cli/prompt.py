"""Approval prompts of `agentd run`: --yes / --no answer them, a terminal asks, else nobody does.

A terminal prompt is hard to answer by mistake: input typed before it opened is dropped, an answer
it does not know asks again (``?`` explains the choices), it shows how long is left, and it says
out loud when time ran out. While it is open it owns the terminal (the renderer holds the run's
output until it closes). "Nobody" answers without choosing (``{"outcome": "cancelled"}``), so the
trace records no option where ``--no`` records ``reject_once``: both refuse the step, only one was
a choice.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import sys
import termios
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, TypeAlias

from server.cli.client import JsonValue
from server.cli.render import Renderer
from server.cli.words import APPROVAL_TIMEOUT_SETTING, duration, step_text

Answer: TypeAlias = Literal["allow", "reject"] | None
Choice: TypeAlias = Literal["allow", "always", "reject"] | None  # None: nobody could choose
_REPLIES: dict[str, Choice] = {
    "y": "allow",
    "yes": "allow",
    "a": "always",
    "always": "always",
    "n": "reject",
    "no": "reject",
    "": "reject",  # Enter: the safe side, as the capital N says
}
QUESTION = "Allow? [y] once, [a] always, [N] reject, [?] help"
HELP = """\
    y  allow once: run this step now; the same command asks again next time
    a  allow always: run it, and save a rule to your policy file that allows this tool (and
       its subcommand, e.g. git push) in this workspace, in later runs too; `agentd policy
       list` shows the rules and `agentd policy remove N` takes one back. Code no rule can
       pin down (python3 -c ...) is remembered only until this agentd command ends
    n  reject (Enter does the same): do not run it; steps that wait for it are skipped
    ?  this help.  Ctrl-C cancels the whole run.
"""
_WANTED: dict[str, list[str]] = {  # a choice -> the option kinds that express it, best first
    "allow": ["allow_once", "allow_always"],
    "always": ["allow_always", "allow_once"],
    "reject": ["reject_once", "reject_always"],
}
_SETTLED: dict[str, str] = {
    "allow": "approved by you (once)",
    "always": "approved by you (always)",
    "reject": "rejected by you",
}


@dataclass(slots=True)
class ApprovalClock:
    """The server's approval time limit (from ``agent/health``, once it has answered) and a clock;
    the server starts timing when it sends the request, so the limit counts from its arrival."""

    limit_ms: int | None = None
    now: Callable[[], float] = time.monotonic
    learn: Callable[[], Awaitable[None]] | None = None  # asks the server for the limit

    def phrase(self) -> str:
        """``the 1 min approval time limit (...)``: the limit and where it is set."""
        limit = f"{duration(self.limit_ms)} " if self.limit_ms else ""
        where = f"--approval-timeout-ms, setting {APPROVAL_TIMEOUT_SETTING}"
        return f"the {limit}approval time limit ({where})"


class Approver:
    """Answers the server's approval prompts: ``--yes`` allows, ``--no`` rejects, a terminal asks,
    and otherwise nobody chooses (the server then rejects the step). How each ask was settled goes
    into ``renderer.facts.approvals``, so the step's line can say it."""

    def __init__(
        self,
        answer: Answer,
        *,
        interactive: bool,
        renderer: Renderer,
        clock: ApprovalClock | None = None,
    ) -> None:
        self.answer = answer
        self.interactive = interactive
        self.renderer = renderer
        self.clock = clock or ApprovalClock()
        self.cancelling = False  # the run is being cancelled: a withdrawn prompt is no timeout
        self._one_at_a_time = asyncio.Lock()  # parallel ask steps must not share the prompt line

    async def request_permission(self, params: JsonValue) -> JsonValue:
        """``agent/requestPermission`` → ``{"outcome": "selected", "optionId"}`` or cancelled."""
        arrived = self.clock.now()
        options: list[dict[str, JsonValue]] = list(params.get("options") or [])
        step, risk = params.get("step") or {}, params.get("risk") or {}
        choice = await self._decide(str(step.get("id")), step_text(step), risk, arrived)
        if choice is None:
            return {"outcome": "cancelled"}
        for kind in _WANTED[choice]:
            for option in options:
                if option.get("kind") == kind:
                    return {"outcome": "selected", "optionId": option.get("optionId")}
        return {"outcome": "cancelled"}

    async def show_message_request(self, params: JsonValue) -> JsonValue:
        """``window/showMessageRequest`` (a server's fallback): pick Allow once / Reject."""
        titles = [str(a.get("title")) for a in params.get("actions") or []]
        message = str(params.get("message", ""))
        choice = await self._decide("", message, {}, self.clock.now())
        if choice is None:
            return None  # dismissed: no action chosen
        wanted = {"allow": "Allow once", "always": "Allow always", "reject": "Reject"}[choice]
        if wanted in titles:
            return {"title": wanted}
        if choice != "reject" and "Allow once" in titles:
            return {"title": "Allow once"}
        return None

    def _settled(self, step_id: str, words: str) -> None:
        if step_id:
            self.renderer.facts.approvals[step_id] = words

    async def _decide(
        self, step_id: str, what: str, risk: dict[str, JsonValue], arrived: float
    ) -> Choice:
        if self.answer is not None:
            flag = "--yes" if self.answer == "allow" else "--no"
            self._settled(
                step_id, f"{'approved' if self.answer == 'allow' else 'rejected'} by {flag}"
            )
            self.renderer.log(f"{self.answer} ({flag}): {step_id} {what}")
            return self.answer
        if not self.interactive:
            self._settled(step_id, "rejected: no terminal to ask (use --yes or --no)")
            self.renderer.note(
                f"rejected (no terminal to ask; use --yes or --no): {step_id} {what}"
            )
            return None
        try:
            if self.clock.limit_ms is None and self.clock.learn is not None:
                await self.clock.learn()  # the prompt shows the time left
            async with self._one_at_a_time:
                with self.renderer.paused():
                    # Said while the prompt still owns the terminal: before the held output.
                    try:
                        choice = await self._ask(step_id, what, risk, arrived)
                    except asyncio.CancelledError:
                        self._withdrawn(step_id)
                        raise
                    if choice is None:
                        self._timed_out(step_id)
                    else:
                        self._settled(step_id, _SETTLED[choice])
        except asyncio.CancelledError:
            self._withdrawn(step_id)  # while it waited behind another prompt (else a no-op)
            raise
        return choice

    def _withdrawn(self, step_id: str) -> None:
        """The server took the question back: its time ran out, or the run is being cancelled."""
        if not self.cancelling and step_id not in self.renderer.facts.approvals:
            self._timed_out(step_id)

    def _timed_out(self, step_id: str) -> None:
        self._settled(step_id, f"rejected: no answer within {self.clock.phrase()}")
        self._say(f"\n  No answer within {self.clock.phrase()}: step {step_id} is rejected.\n")

    def _say(self, text: str) -> None:
        self.renderer.err.write(text)
        self.renderer.err.flush()

    async def _ask(
        self, step_id: str, what: str, risk: dict[str, JsonValue], arrived: float
    ) -> Choice:
        """Ask until the answer is one we know; None when the time limit passed first."""
        _drop_typed_ahead()
        reasons = "; ".join(str(r) for r in risk.get("reasons") or [])
        level = f"  risk {risk.get('level')}" + (f": {reasons}" if reasons else "") if risk else ""
        header = f"step {step_id}: {what}" if step_id else what
        self._say(f"\nApproval needed for {header}\n" + (f"{level}\n" if level else ""))
        while True:
            left = self._left(arrived)
            if left is not None and left <= 0:
                return None
            shown_left = f" ({duration(math.ceil(left) * 1000)} left)" if left is not None else ""
            self._say(f"  {QUESTION}{shown_left}: ")
            try:
                raw = await asyncio.wait_for(read_terminal_line(), left)
            except TimeoutError:
                return None
            if raw == "":  # end of input (Ctrl-D): nobody is there to answer
                self._say("\n")
                return "reject"
            reply = raw.strip().lower()
            if reply in _REPLIES:
                return _REPLIES[reply]
            if reply in ("?", "h", "help"):
                self._say(HELP)
            else:
                self._say(f"    {raw.strip()!r} is not an answer: type y, a, n or ? and Enter\n")

    def _left(self, arrived: float) -> float | None:
        if not self.clock.limit_ms:
            return None
        return self.clock.limit_ms / 1000 - (self.clock.now() - arrived)


def _drop_typed_ahead() -> None:
    """Throw away keys typed before the prompt opened: they were not meant as its answer."""
    with contextlib.suppress(OSError, termios.error, ValueError):
        termios.tcflush(sys.stdin.fileno(), termios.TCIFLUSH)


async def read_terminal_line() -> str:
    """One line from stdin without blocking the event loop (which keeps serving the server);
    cancellable, unlike ``input()`` in a thread. End of input reads as ``""``."""
    loop = asyncio.get_running_loop()
    fd = sys.stdin.fileno()
    ready: asyncio.Future[bytes] = loop.create_future()

    def on_readable() -> None:
        if not ready.done():
            try:
                ready.set_result(os.read(fd, 4096))
            except OSError:
                ready.set_result(b"")

    loop.add_reader(fd, on_readable)
    try:
        return (await ready).decode(errors="replace")
    finally:
        loop.remove_reader(fd)
