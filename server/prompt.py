"""Approval prompts of `agentd run`: --yes / --no answer them, a terminal asks, else reject."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Literal

from server.client import JsonValue
from server.render import Renderer

Answer = Literal["allow", "reject"] | None


class Approver:
    """Answers the server's approval prompts: ``--yes`` allows, ``--no`` rejects, a terminal asks,
    and anything else rejects (nobody is there to ask)."""

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
        wanted = {"allow": "Allow once", "always": "Allow always", "reject": "Reject"}[choice]
        if wanted in titles:
            return {"title": wanted}
        if choice != "reject" and "Allow once" in titles:
            return {"title": "Allow once"}
        return None

    async def _decide(self, what: str, risk: dict[str, JsonValue]) -> str:
        if self.answer is not None:
            self.renderer.log(f"{self.answer}: {what}")
            return self.answer
        if not self.interactive:
            self.renderer.note(f"rejected (no terminal to ask; use --yes or --no): {what}")
            return "reject"
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
        return {"y": "allow", "yes": "allow", "a": "always", "always": "always"}.get(
            reply, "reject"
        )


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
