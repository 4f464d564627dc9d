"""How `agentd run` shows a run: rich live progress on a terminal, plain lines in a pipe, or JSON.

Everything here works on the JSON the server sends (RunResult, StepResult as dicts) so the CLI never
imports pydantic or the engine; rich is imported only when a terminal is there to draw on.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from typing import Any, TextIO

from server.cli.client import JsonValue

# The final step statuses of docs/protocol.md, restated so the CLI need not import the engine.
FINAL = frozenset(
    ["succeeded", "failed", "timedOut", "cancelled", "denied", "rejected", "skipped", "planned"]
)
TAIL_LINES = 20


def plural(count: int, noun: str) -> str:
    """``1 step``, ``2 steps``: every count the CLI prints agrees with its noun."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _can_encode(stream: TextIO, text: str) -> bool:
    try:
        text.encode(stream.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


# Status marks ("" for any other status) and "more" for the note before an output tail.
_MARKS = {"succeeded": "✓", "failed": "✗", "timedOut": "✗", "planned": "·", "": "⊘", "more": "…"}
_ASCII = {"succeeded": "+", "failed": "x", "timedOut": "x", "planned": ".", "": "-", "more": "..."}


def marks_for(stream: TextIO) -> dict[str, str]:
    """Status marks: check marks where the stream can show them, ASCII otherwise."""
    return dict(_MARKS if _can_encode(stream, "".join(_MARKS.values())) else _ASCII)


def step_line(step: dict[str, JsonValue], marks: dict[str, str]) -> str:
    """``✓ s1 echo hi (succeeded, 3 ms, risk low)``: one finished step."""
    status = str(step.get("status", ""))
    line = step.get("cmd") if step.get("kind") == "runCli" else f"write {step.get('path')}"
    risk = step.get("risk") or {}
    details = [status]
    if status != "planned":
        details.append(f"{step.get('durationMs', 0)} ms")
    if step.get("exitCode") not in (None, 0):
        details.append(f"exit {step['exitCode']}")
    level = f"risk {risk.get('level', 'unknown')}"
    if risk.get("reasons") and risk.get("level") != "low":
        level += ": " + "; ".join(str(r) for r in risk["reasons"])
    details.append(level)
    if step.get("decision") not in (None, "allow"):
        details.append(f"gate {step['decision']}")
    mark = marks.get(status, marks[""])
    return f"{mark} {step.get('id')} {line} ({', '.join(details)})"


def summary_line(result: dict[str, JsonValue]) -> str:
    results = result.get("results") or []
    ok = sum(1 for r in results if r.get("status") == "succeeded")
    trust = (result.get("bits") or {}).get("t")
    if result.get("status") == "planned":
        counted = f"{plural(len(results), 'step')} planned"
    else:
        counted = f"{ok}/{plural(len(results), 'step')} succeeded"
    return (
        f"Run {result.get('runId')} {result.get('status')}: {counted}, trust {trust}, "
        f"trace {result.get('trace')}"
    )


def output_tail(text: str, more: str, lines: int = TAIL_LINES) -> list[str]:
    """The last ``lines`` lines of ``text``, after a ``… N more lines`` note if there were more."""
    if not text.strip():
        return []
    every = text.rstrip("\n").splitlines()
    hidden = len(every) - lines
    return ([f"{more} {plural(hidden, 'more line')}"] if hidden > 0 else []) + every[-lines:]


def step_output(step: dict[str, JsonValue], marks: dict[str, str], *, verbose: bool) -> list[str]:
    """What to show under a finished step's line: a succeeded step's stdout; a failed one's
    stdout and then stderr (where failures explain themselves); both for any step if verbose."""
    status = step.get("status")
    if verbose or status in ("failed", "timedOut"):
        streams = ["stdout", "stderr"]
    else:
        streams = ["stdout"] if status == "succeeded" else []
    return [line for s in streams for line in output_tail(str(step.get(s) or ""), marks["more"])]


class Renderer:
    """The quiet base: collects nothing, prints nothing. Subclasses draw what they need."""

    def __init__(self, *, verbose: bool = False, err: TextIO | None = None) -> None:
        self.verbose = verbose
        self._err = err

    @property
    def err(self) -> TextIO:
        # Looked up each time: a live display swaps sys.stderr for a proxy that prints above it.
        return self._err or sys.stderr

    def progress(self, value: dict[str, JsonValue]) -> None:
        """A ``$/progress`` value: begin / report / end."""

    def step(self, step: dict[str, JsonValue]) -> None:
        """An ``agent/stepUpdated`` step (in flight or final)."""

    def output(self, delta: dict[str, JsonValue]) -> None:
        """An ``agent/outputDelta``."""

    def note(self, text: str) -> None:
        """Something the user should know now (cancelling, server messages): always stderr."""
        self.err.write(text + "\n")
        self.err.flush()

    def log(self, text: str) -> None:
        if self.verbose:
            self.note(text)

    def finish(self, result: dict[str, JsonValue]) -> None:
        """The RunResult arrived."""

    def close(self) -> None:
        """Tear down any live display (also on errors and Ctrl-C)."""

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Hold the live display still while the user answers a prompt."""
        yield


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
        self.shown: set[str] = set()

    def step(self, step: dict[str, JsonValue]) -> None:
        if step.get("status") in FINAL and step.get("id") not in self.shown:
            self.shown.add(str(step.get("id")))
            self.emit_step(step)

    def emit_step(self, step: dict[str, JsonValue]) -> None:
        self.out.write(step_line(step, self.marks) + "\n")
        output = step_output(step, self.marks, verbose=self.verbose)
        self.out.writelines(f"    | {line}\n" for line in output)
        self.out.flush()

    def finish(self, result: dict[str, JsonValue]) -> None:
        # Steps that never reported a final update (a dry run, a cancelled plan) still get a line.
        for step in result.get("results") or []:
            self.step(step)
        self.out.write(summary_line(result) + "\n")
        self.out.flush()


_STYLES = {"succeeded": "green", "failed": "red", "timedOut": "red", "planned": "cyan"}


class RichRenderer(PlainRenderer):
    """A live progress bar (from ``$/progress``) with the finished steps scrolling above it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        from rich.console import Console
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.console = Console(file=self.out)
        self.bar = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            TextColumn("[dim]{task.fields[running]}"),
            console=self.console,
            transient=True,
        )
        self.task = self.bar.add_task("Agent", total=100, running="")
        self.running: dict[str, str] = {}  # step id -> its command, then its last output line
        self.bar.start()

    def progress(self, value: dict[str, JsonValue]) -> None:
        kind = value.get("kind")
        if kind == "begin" and value.get("title"):
            self.bar.update(self.task, description=str(value["title"]))
        if isinstance(value.get("percentage"), int | float):
            self.bar.update(self.task, completed=value["percentage"])

    def step(self, step: dict[str, JsonValue]) -> None:
        step_id = str(step.get("id"))
        if step.get("status") == "running":
            self.running[step_id] = str(step.get("cmd") or step.get("path") or "")
        elif step.get("status") in FINAL:
            self.running.pop(step_id, None)
        self._show_running()
        super().step(step)

    def output(self, delta: dict[str, JsonValue]) -> None:
        lines = str(delta.get("text") or "").strip().splitlines()
        step_id = str(delta.get("stepId"))
        if lines and step_id in self.running:
            self.running[step_id] = lines[-1]
            self._show_running()

    def _show_running(self) -> None:
        """The running steps and the last line each printed: the live tail under the bar."""
        shown = "  ".join(f"{sid}: {tail}" for sid, tail in self.running.items())
        self.bar.update(self.task, running=shown[:70])

    def emit_step(self, step: dict[str, JsonValue]) -> None:
        from rich.text import Text

        status = str(step.get("status"))
        self.console.print(Text(step_line(step, self.marks), style=_STYLES.get(status, "yellow")))
        for line in step_output(step, self.marks, verbose=self.verbose):
            self.console.print(Text(f"    │ {line}", style="dim"))

    def finish(self, result: dict[str, JsonValue]) -> None:
        for step in result.get("results") or []:
            PlainRenderer.step(self, step)
        self.close()
        from rich.text import Text

        style = {"succeeded": "bold green", "planned": "bold cyan"}.get(
            str(result.get("status")), "bold red"
        )
        self.console.print(Text(summary_line(result), style=style))

    def close(self) -> None:
        self.bar.stop()

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        self.bar.stop()
        try:
            yield
        finally:
            self.bar.start()
