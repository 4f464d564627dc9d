"""The live terminal view of `agentd run`: a status bar that says what the run is doing (starting,
planning, waiting for approval, running N steps), the running steps' last output lines, and the
finished steps scrolling above it. rich is imported here only, when a terminal is there to draw on.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.text import Text

from server.cli.client import JsonValue
from server.cli.render import PlainRenderer
from server.cli.words import FINAL, plural, step_line

_STYLES = {"succeeded": "green", "failed": "red", "timedOut": "red", "planned": "cyan"}
_RUN_STYLES = {"succeeded": "bold green", "planned": "bold cyan"}


class RichRenderer(PlainRenderer):
    """A live status bar (from the run's notifications) with the finished steps above it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.gutters = {"stdout": self.marks["out"], "stderr": self.marks["err"]}
        self.console = Console(file=self.out)
        self.bar = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[percent]}"),
            TimeElapsedColumn(),
            TextColumn("[dim]{task.fields[running]}"),
            console=self.console,
            transient=True,
        )
        # No total (a pulsing bar, no "0%") until there is a plan to count steps of.
        self.task = self.bar.add_task("starting agentd", total=None, percent="", running="")
        self.running: dict[str, str] = {}  # step id -> its command, then its last output line
        self.awaiting: set[str] = set()
        self.doing = "starting agentd"
        self.closed = False
        self.bar.start()

    def phase(self, text: str) -> None:
        self.doing = text
        self._describe()

    def _describe(self) -> None:
        if self.awaiting:
            shown = "waiting for approval: " + ", ".join(sorted(self.awaiting))
        else:
            shown = self.doing
        self.bar.update(self.task, description=shown)

    def plan(self, params: dict[str, JsonValue]) -> None:
        super().plan(params)
        steps = params.get("steps") or []
        self.bar.update(self.task, total=100, completed=0, percent="  0%")
        self.phase(f"running {plural(len(steps), 'step')}")

    def progress(self, value: dict[str, JsonValue]) -> None:
        percentage = value.get("percentage")
        if isinstance(percentage, int | float) and self.bar.tasks[0].total is not None:
            self.bar.update(self.task, completed=percentage, percent=f"{percentage:>3.0f}%")

    def step(self, step: dict[str, JsonValue]) -> None:
        step_id, status = str(step.get("id")), step.get("status")
        if status == "running":
            self.running[step_id] = str(step.get("cmd") or step.get("path") or "")
        elif status in FINAL:
            self.running.pop(step_id, None)
        if status == "awaitingApproval":
            self.awaiting.add(step_id)
        else:
            self.awaiting.discard(step_id)
        self._describe()
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
        status = str(step.get("status"))
        self.limit_of(step)
        line = step_line(step, self.marks, self.facts)
        # soft_wrap: the terminal wraps long lines; rich would break commands and paths apart
        self.console.print(Text(line, style=_STYLES.get(status, "yellow")), soft_wrap=True)
        # stdout as printed; stderr dimmed when the step succeeded (warnings, progress chatter)
        quiet = "dim" if status == "succeeded" else ""
        for stream, text in self.output_lines(step):
            style = quiet if stream == "stderr" else "dim" if stream == "note" else ""
            gutter = f"    {self.gutters.get(stream, ' ')} "
            self.console.print(Text.assemble((gutter, "dim"), (text, style)), soft_wrap=True)

    def finish(self, result: dict[str, JsonValue]) -> None:
        super().finish(result)
        self.close()

    def emit_summary(self, result: dict[str, JsonValue], lines: list[str]) -> None:
        self.close()
        style = _RUN_STYLES.get(str(result.get("status")), "bold red")
        self.console.print(Text(lines[0], style=style), soft_wrap=True)
        for line in lines[1:]:
            self.console.print(Text(line), soft_wrap=True)

    def close(self) -> None:
        self.closed = True
        self.bar.stop()

    def pause_display(self) -> None:
        self.bar.stop()

    def resume_display(self) -> None:
        if not self.closed:
            self.bar.start()
