"""How `agentd run` shows a run: plain lines in a pipe, or JSON (the live terminal view is live.py).

Everything here works on the JSON the server sends (RunResult, StepResult as dicts) so the CLI never
imports pydantic or the engine. While an approval prompt is open it owns the terminal: what the run
prints meanwhile is held and shown below the prompt once it is answered.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

from server.cli.client import JsonValue
from server.cli.words import (
    FINAL,
    StepFacts,
    marks_for,
    output_lines,
    step_line,
    summary_lines,
)
from server.cli.workspace import RUNS_DIR


class Renderer:
    """The quiet base: tracks the run, prints only notes. Subclasses draw what they need."""

    def __init__(
        self, *, verbose: bool = False, err: TextIO | None = None, workspace: Path | None = None
    ) -> None:
        self.verbose = verbose
        self._err = err
        self.workspace = workspace
        self.run_id = ""
        self.facts = StepFacts()
        # Set by the run command: the time limit a timed-out step hit, in words.
        self.describe_limit: Callable[[str], str | None] = lambda step_id: None
        self._held: list[Callable[[], None]] = []  # output waiting while something holds it
        self._holds = 0

    @property
    def err(self) -> TextIO:
        # Looked up each time: a live display swaps sys.stderr for a proxy that prints above it.
        return self._err or sys.stderr

    def trace_path(self, run_id: str, relative: str | None = None) -> str:
        """Where a run's trace is, as an absolute path whenever the workspace is known."""
        rel = relative or (RUNS_DIR / f"{run_id}.jsonl").as_posix()
        return str(self.workspace / rel) if self.workspace is not None else rel

    # -- what the server says ----------------------------------------------------------------
    def phase(self, text: str) -> None:
        """What the run is doing before its steps show anything: starting, planning, ..."""

    def run_started(self, params: dict[str, JsonValue]) -> None:
        self.run_id = str(params.get("runId") or "")

    def plan(self, params: dict[str, JsonValue]) -> None:
        """``agent/planReady``: the gated plan, before any step runs."""
        for step in params.get("steps") or []:
            self.facts.statuses[str(step.get("id"))] = str(step.get("status"))

    def progress(self, value: dict[str, JsonValue]) -> None:
        """A ``$/progress`` value: begin / report / end."""

    def step(self, step: dict[str, JsonValue]) -> None:
        """An ``agent/stepUpdated`` step (in flight or final)."""
        step_id = str(step.get("id"))
        self.facts.statuses[step_id] = str(step.get("status"))
        if step_id not in self.facts.approvals and step.get("decision") == "ask":
            # The server settled it from an earlier "always" without asking this time.
            if step.get("approvedBy") == "user":
                self.facts.approvals[step_id] = "approved: you chose always for this command"
            elif step.get("approvedBy") == "policy":
                self.facts.approvals[step_id] = "approved: a rule you saved (allow always)"

    def output(self, delta: dict[str, JsonValue]) -> None:
        """An ``agent/outputDelta``."""

    def note(self, text: str) -> None:
        """Something the user should know now (cancelling, server messages): always stderr."""
        self.hold_or_do(lambda: self._write_err(text))

    def _write_err(self, text: str) -> None:
        self.err.write(text + "\n")
        self.err.flush()

    def log(self, text: str) -> None:
        if self.verbose:
            self.note(text)

    def finish(self, result: dict[str, JsonValue]) -> None:
        """The RunResult arrived."""

    def close(self) -> None:
        """Tear down any live display (also on errors and Ctrl-C)."""

    # -- a prompt owns the terminal ----------------------------------------------------------
    def hold_or_do(self, show: Callable[[], None]) -> None:
        if self._holds:
            self._held.append(show)
        else:
            show()

    def hold(self) -> Callable[[], None]:
        """Hold the run's output (in order) until the returned release is called."""
        self._holds += 1
        released = False

        def release() -> None:
            nonlocal released
            if released:
                return
            released = True
            self._holds -= 1
            while not self._holds and self._held:
                self._held.pop(0)()

        return release

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Hold the run's output while the user answers a prompt; show it below afterwards."""
        release = self.hold()
        self.pause_display()
        try:
            yield
        finally:
            release()
            self.resume_display()

    def limit_of(self, step: dict[str, JsonValue]) -> None:
        """Word the time limit a timed-out step hit, once, when its line is shown."""
        step_id = str(step.get("id"))
        if step.get("status") == "timedOut" and step_id not in self.facts.limits:
            limit = self.describe_limit(step_id)
            if limit is not None:
                self.facts.limits[step_id] = limit

    def pause_display(self) -> None:
        """Stop drawing (a live display) while a prompt is open."""

    def resume_display(self) -> None:
        """Start drawing again after a prompt."""


class JsonRenderer(Renderer):
    """``--json``: exactly the RunResult on stdout and nothing else there."""

    def __init__(self, out: TextIO | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.out = out or sys.stdout

    def finish(self, result: dict[str, JsonValue]) -> None:
        self.out.write(json.dumps(result, indent=2) + "\n")  # ASCII: valid whatever the locale
        self.out.flush()


class PlainRenderer(Renderer):
    """One line per finished step, the tail of its output, and a summary: for pipes, logs, CI."""

    def __init__(self, out: TextIO | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.out = out or sys.stdout
        self.marks = marks_for(self.out)
        self.gutters = {"stdout": "|", "stderr": "!"}  # plain ASCII gutters: logs get grepped
        self.shown: set[str] = set()

    def step(self, step: dict[str, JsonValue]) -> None:
        super().step(step)
        if step.get("status") in FINAL and step.get("id") not in self.shown:
            self.shown.add(str(step.get("id")))
            # Worded when shown: a prompt that closes meanwhile may add how it was settled.
            self.hold_or_do(lambda: self.emit_step(step))

    def output_lines(self, step: dict[str, JsonValue]) -> list[tuple[str, str]]:
        """``(stream, line)`` pairs under a step: the tails of its streams, then a note when its
        output was cut at the capture cap (with where the whole of it is)."""
        lines = output_lines(step, self.marks["more"], verbose=self.verbose)
        if step.get("truncated"):
            where = str(Path(self.trace_path(self.run_id)).with_suffix(""))
            lines.append(("note", f"output cut at the capture limit; all of it is in {where}/"))
        return lines

    def emit_step(self, step: dict[str, JsonValue]) -> None:
        self.limit_of(step)
        self.out.write(step_line(step, self.marks, self.facts) + "\n")
        self.out.writelines(
            f"    {self.gutters.get(s, ' ')} {text}\n" for s, text in self.output_lines(step)
        )
        self.out.flush()

    def finish(self, result: dict[str, JsonValue]) -> None:
        self.run_id = str(result.get("runId") or self.run_id)
        # Steps that never reported a final update (a dry run, a cancelled plan) still get a line.
        for step in result.get("results") or []:
            self.step(step)
        trace = self.trace_path(self.run_id, str(result.get("trace") or "") or None)
        self.hold_or_do(lambda: self.emit_summary(result, summary_lines(result, trace)))

    def emit_summary(self, result: dict[str, JsonValue], lines: list[str]) -> None:
        self.out.writelines(line + "\n" for line in lines)
        self.out.flush()
