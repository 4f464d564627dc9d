"""What the model is told: the system prompt, the goal with a bounded picture of the workspace, the
outcomes of the previous round, and what was wrong with an answer it must repair.

The picture of the workspace and the outcomes each stay within ``contextBytes`` (docs/config.md).
Everything taken from the workspace or from step output passes through the run's redactor first:
what the model sees is what the trace may hold.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

from engine.environment import step_environment
from engine.models import StepResult
from engine.plan.answer import MAX_STEPS, answer_schema
from engine.plan.detect import detect
from engine.vocab import Dialect

__all__ = [
    "describe_workspace",
    "observation",
    "repair",
    "system_prompt",
    "user_prompt",
]

Redact = Callable[[str], str]
MAX_LISTING = 200  # top-level entries looked at (the budget usually shows fewer)
MAX_NAMED_FILES = 5
GIT_TIMEOUT_S = 3.0
_CUT = "\n[... cut to fit the context budget]"
# Words of a goal that may name a file: a path with a slash, or a name with an extension.
_PATHLIKE = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*[\w.-]*\w\.\w+|(?:[\w.-]+/)+[\w.-]+)")
_SECRET_SUFFIXES = (".pem", ".key", ".p12", ".pfx", ".keystore", ".jks", ".kdbx")
_SECRET_PARTS = frozenset({".ssh", ".aws", ".gnupg", ".git", ".agent", ".docker", ".kube"})
_SECRET_PREFIXES = (".env", "id_rsa", "id_ed25519", "id_ecdsa", "id_dsa", ".netrc", ".npmrc")

SYSTEM_PROMPT = """\
You are the planner of agentd, which carries out a goal in a software workspace on the user's \
behalf. You plan steps; agentd runs them. Answer with one JSON object and nothing else: \
{{"steps": [...], "done": true or false, "summary": "<one line>"}}.

Steps:
- {{"kind": "runCli", "id": ..., "cmd": ..., "after": [...], "timeoutMs": null}} runs "cmd" with \
`sh -c` in the workspace root, non-interactively: no prompts, editors, pagers or watch modes; \
pass flags such as --yes where a tool would ask. Never use sudo. Do not use the network unless \
the goal needs it.
- {{"kind": "writeFile", "id": ..., "path": ..., "content": ..., "after": [...], \
"timeoutMs": null}} writes "content" to "path" (relative to the workspace root, inside it), \
replacing the whole file.
- "id" (letters, digits, _ . : -) names a step. "after" lists the ids of steps of this answer \
that must succeed first; [] when there are none. Steps without "after" run in parallel, so use \
"after" for order. "timeoutMs" is a time limit in milliseconds, or null for the default.
- Prefer small steps that each do one thing; at most {max_steps} steps.
- Every step is checked for risk before it runs: risky ones need the user's approval, dangerous \
ones are denied, and steps may run in a sandbox. You cannot approve anything.

Rounds: set "done" to true when these steps finish the goal. Set it to false to see how they went \
(status, exit code, the end of their output; denied and rejected steps) and plan the next round. \
In a later round, answer {{"steps": [], "done": true, "summary": "..."}} when nothing is left to do.

An example, for the goal "show what changed and how big the source folder is":
{{"steps": [{{"kind": "runCli", "id": "changes", "cmd": "git status --short", "after": [], \
"timeoutMs": null}}, {{"kind": "runCli", "id": "size", "cmd": "du -sh src", "after": [], \
"timeoutMs": 60000}}], "done": true, "summary": "show the changes and the size of src"}}
"""

TEXT_DIALECT = """
Your answer must be a JSON object that follows this JSON Schema (no prose, no code fence):
{schema}
"""


def system_prompt(dialect: Dialect) -> str:
    """The rules and the answer format; the plain-text dialect also gets the schema itself."""
    text = SYSTEM_PROMPT.format(max_steps=MAX_STEPS)
    if dialect == "text":
        schema = json.dumps(answer_schema(grammar=True), separators=(",", ":"))
        text += TEXT_DIALECT.format(schema=schema)
    return text


def user_prompt(goal: str, picture: str) -> str:
    return f"Goal: {goal}\n\nThe workspace:\n{picture}"


def repair(problem: str) -> str:
    """The turn that asks the model to mend an answer that could not be used."""
    return (
        f"That answer could not be used: {problem}. Answer again with one JSON object of the "
        'form {"steps": [...], "done": ..., "summary": "..."} that follows the rules.'
    )


# -- the workspace -----------------------------------------------------------------------------


def describe_workspace(workspace: Path, goal: str, budget: int, redact: Redact) -> str:
    """The workspace for the model in at most ``budget`` bytes: its kind of project, top-level
    entries, git status, and the files the goal names (redacted). Not its absolute path: steps run
    in it and name paths relative to it, and the path says things about the user."""
    head = f"- project: {describe_project(workspace)}\n"
    parts = [head]
    room = budget - _size(head)
    listing = _cut(f"- top-level entries: {list_workspace(workspace)}\n", room // 4)
    parts.append(listing)
    room -= _size(listing)
    status = git_status(workspace)
    if status:
        shown = _cut(f"- git status:\n{_indent(redact(status))}\n", room // 3)
        parts.append(shown)
        room -= _size(shown)
    for path, text in named_files(workspace, goal):
        if room <= 200:
            break
        shown = _cut(f"- file {path}:\n{_indent(redact(text))}\n", room)
        parts.append(shown)
        room -= _size(shown)
    return _cut("".join(parts), budget)


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


def git_status(workspace: Path) -> str:
    """``git status`` (branch and changed files) when the workspace is in a repository; "" if not.

    With the file-system monitor off: a repository's own configuration could name a program for
    it, and describing a workspace must not run anything the workspace chose.
    """
    if not any((folder / ".git").exists() for folder in (workspace, *workspace.parents)):
        return ""
    argv = [
        "git", "-c", "core.fsmonitor=false", "--no-optional-locks", "status",
        "--porcelain=v1", "--branch", "--untracked-files=normal",
    ]  # fmt: skip
    env = step_environment(os.environ, overrides={"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"})
    try:
        done = subprocess.run(
            argv,
            cwd=workspace,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    if done.returncode != 0:
        return ""
    return done.stdout.decode("utf-8", "replace").strip() or "(clean)"


def named_files(workspace: Path, goal: str) -> list[tuple[str, str]]:
    """The workspace's regular text files that ``goal`` names, with their text; never a file
    outside the workspace, behind a symlink, or one that looks like it holds secrets."""
    try:
        root = workspace.resolve(strict=True)
    except OSError:
        return []
    found: list[tuple[str, str]] = []
    for word in dict.fromkeys(_PATHLIKE.findall(goal)):
        relative = word.removeprefix("./")
        if len(found) >= MAX_NAMED_FILES or _looks_secret(relative):
            continue
        text = _read_inside(root, relative)
        if text is not None:
            found.append((relative, text))
    return found


def _looks_secret(relative: str) -> bool:
    parts = [p.lower() for p in relative.split("/")]
    name = parts[-1]
    return (
        bool(_SECRET_PARTS.intersection(parts))
        or name.endswith(_SECRET_SUFFIXES)
        or name.startswith(_SECRET_PREFIXES)
        or ".." in parts
    )


def _read_inside(root: Path, relative: str, limit: int = 256 * 1024) -> str | None:
    path = root / relative
    try:
        if path.is_symlink() or path.resolve(strict=True) != path or not path.is_file():
            return None
        with path.open("rb") as handle:
            data = handle.read(limit)
    except OSError:
        return None
    if b"\x00" in data:
        return None  # binary
    return data.decode("utf-8", "replace")


# -- outcomes ---------------------------------------------------------------------------------


def observation(steps: Sequence[StepResult], budget: int, redact: Redact) -> str:
    """How the previous round's steps ended, for the next round, in at most ``budget`` bytes."""
    lines = ["The steps of the previous round ended like this:"]
    tail = max(200, budget // (2 * max(len(steps), 1)))  # per stream of each step
    for step in steps:
        lines.append(f"- {step.id} ({step.line}): {_outcome(step)}")
        for stream, text in (("stdout", step.stdout), ("stderr", step.stderr)):
            if text.strip():
                lines.append(f"  {stream} (end):\n{_indent(redact(_tail(text, tail)), 4)}")
    lines.append(
        'Plan the next steps, or answer {"steps": [], "done": true, "summary": "..."} if the '
        "goal is done or cannot be done."
    )
    return _cut("\n".join(lines), budget)


def _outcome(step: StepResult) -> str:
    reasons = "; ".join(step.risk.reasons) or step.risk.level
    if step.status == "denied":
        return f"denied by the gate, not run ({reasons}); do not try it again in another form"
    if step.status == "rejected":
        return f"rejected: the user did not approve it ({reasons})"
    if step.status == "skipped":
        return "skipped: a step it comes after did not succeed"
    if step.exit_code is not None:
        return f"{step.status}, exit code {step.exit_code}"
    return step.status


# -- sizes --------------------------------------------------------------------------------------


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def _cut(text: str, limit: int) -> str:
    """``text`` within ``limit`` bytes (UTF-8), marked when cut."""
    if _size(text) <= limit:
        return text
    room = max(limit - _size(_CUT), 0)
    return text.encode("utf-8")[:room].decode("utf-8", "ignore") + _CUT


def _tail(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return "[...] " + data[-limit:].decode("utf-8", "ignore")


def _indent(text: str, width: int = 2) -> str:
    pad = " " * width
    return "\n".join(pad + line for line in text.splitlines())
