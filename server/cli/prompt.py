"""Approval prompts of `agentd run`: --yes / --no answer them, a terminal asks, else nobody does.

"Nobody" answers without choosing (``{"outcome": "cancelled"}``, no action), so the trace records
no option where ``--no`` records ``reject_once``: both refuse the step, only one was a choice.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Literal, TypeAlias

from server.cli.client import JsonValue
from server.cli.render import Renderer

Answer: TypeAlias = Literal["allow", "reject"] | None
Choice: TypeAlias = Literal["allow", "always", "reject"] | None  # None: nobody could choose
_REPLIES: dict[str, Choice] = {"y": "allow", "yes": "allow", "a": "always", "always": "always"}


class Approver:
    """Answers the server's approval prompts: ``--yes`` allows, ``--no`` rejects, a terminal asks,
    and otherwise nobody chooses (the server then rejects the step)."""

    def __init__(self, answer: Answer, *, interactive: bool, renderer: Renderer) -> None:
        self.answer = answer
        self.interactive = interactive
        self.renderer = renderer
        self._one_at_a_time = asyncio.Lock()  # parallel ask steps must not share the prompt line

    async def request_permission(self, params: JsonValue) -> JsonValue:
        """``agent/requestPermission`` → ``{"outcome": "selected", "optionId"}`` or cancelled."""
        options: list[dict[str, JsonValue]] = list(params.get("options") or [])
        step, risk = params.get("step") or {}, params.get("risk") or {}
        choice = await self._decide(
            f"{step.get('id')} {step.get('cmd') or 'write ' + str(step.get('path'))}", risk
        )
        if choice is None:
            return {"outcome": "cancelled"}
        wanted = {
            "allow": ["allow_once", "allow_always"],
            "always": ["allow_always", "allow_once"],
            "reject": ["reject_once", "reject_always"],
        }[choice]
        for kind in wanted:
            for option in options:
                if option.get("kind") == kind:
                    return {"outcome": "selected", "optionId": option.get("optionId")}
        return {"outcome": "cancelled"}

    async def show_message_request(self, params: JsonValue) -> JsonValue:
        """``window/showMessageRequest`` (a server's fallback): pick Allow once / Reject."""
        titles = [str(a.get("title")) for a in params.get("actions") or []]
        choice = await self._decide(str(params.get("message", "")), {})
        if choice is None:
            return None  # dismissed: no action chosen
        wanted = {"allow": "Allow once", "always": "Allow always", "reject": "Reject"}[choice]
        if wanted in titles:
            return {"title": wanted}
        if choice != "reject" and "Allow once" in titles:
            return {"title": "Allow once"}
        return None

    async def _decide(self, what: str, risk: dict[str, JsonValue]) -> Choice:
        if self.answer is not None:
            self.renderer.log(f"{self.answer}: {what}")
            return self.answer
        if not self.interactive:
            self.renderer.note(f"rejected (no terminal to ask; use --yes or --no): {what}")
            return None
        async with self._one_at_a_time:
            reasons = "; ".join(str(r) for r in risk.get("reasons") or [])
            level = (
                f"risk {risk.get('level')}" + (f": {reasons}" if reasons else "") if risk else ""
            )
            with self.renderer.paused():
                self.renderer.err.write(
                    f"\nApproval needed: {what}\n  {level}\n"
                    "  Allow? [y] once, [a] always, [N] reject: "
                )
                self.renderer.err.flush()
                reply = (await read_terminal_line()).strip().lower()
        return _REPLIES.get(reply, "reject")  # Enter, end of input or anything else: reject


async def read_terminal_line() -> str:
    """One line from stdin without blocking the event loop (which keeps serving the server);
    cancellable, unlike ``input()`` in a thread. End of input reads as an empty answer."""
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
