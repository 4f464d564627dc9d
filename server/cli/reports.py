"""`agentd doctor`: the server's health report, in words."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from server.cli.client import JsonValue
from server.cli.words import APPROVAL_TIMEOUT_SETTING, STEP_TIMEOUT_SETTING, duration

_APPROVALS = {  # how this client is asked, as the server reports it
    "requestPermission": "asked here, at the terminal (--yes / --no answer for you)",
    "showMessageRequest": "asked through a message box",
    "none": "nobody can be asked: steps that need approval are rejected",
}


_SANDBOXES = {
    "bwrap": "bubblewrap (the full sandbox)",
    "landlock": "Landlock (a partial sandbox: user namespaces are refused here)",
    "off": "none: steps run with your full rights",
}


def _protections(found: JsonValue) -> str:
    """One line per protection: what holds (+) and what is missing (-), with why."""
    lines = []
    for item in found if isinstance(found, list) else []:
        mark = "+" if item.get("active") else "-"
        note = f" ({item['note']})" if item.get("note") else ""
        lines.append(f"\n    {mark} {item.get('name')}{note}")
    return "".join(lines) or "none"


def _limit(setting: str) -> Callable[[JsonValue], str]:
    return lambda ms: f"{duration(ms)} (setting {setting})" if isinstance(ms, int) else str(ms)


# The health fields people read most, as a label and words; any other field is shown as named.
_KNOWN: dict[str, tuple[str, Callable[[JsonValue], str]]] = {
    "stepTimeoutMs": ("step time limit", _limit(STEP_TIMEOUT_SETTING)),
    "approvalTimeoutMs": ("approval time limit", _limit(APPROVAL_TIMEOUT_SETTING)),
    "approvals": ("approvals", lambda how: _APPROVALS.get(str(how), str(how))),
    "maxParallel": ("steps at once", lambda n: f"at most {n}"),
    "activeRuns": ("runs in progress", str),
    "sandbox": (
        "sandbox",
        lambda kind: _SANDBOXES.get(str(kind), str(kind)),
    ),
    "sandboxProtections": ("protections", lambda found: _protections(found)),
    "policyRules": ("policy rules", lambda n: f"{n} in force here (agentd policy list)"),
    "modelConfigured": (
        "language model",
        lambda yes: "configured" if yes else "none (goal ids work; free text needs one)",
    ),
}

_SECTIONS = {"model": "model endpoint"}  # health fields that are objects, shown a line a key


def health_report(
    health: dict[str, JsonValue], workspace: str, goals: JsonValue, goals_problem: str | None
) -> tuple[bool, str]:
    """``agent/health`` (and whether the workspace's goals load) in words; healthy or not."""
    problems = [str(p) for p in health.get("problems") or []]
    problems += [f"policy: {p}" for p in health.get("policyErrors") or []]
    if health.get("ok") is False or health.get("healthy") is False:
        problems.append("the server reports itself unhealthy")
    if goals_problem:
        problems.append(goals_problem)
    lines = [f"agentd {health.get('version', '?')}"]
    report = {"workspace": workspace} | health  # the server's view of the workspace wins
    for key, value in report.items():
        if key in ("version", "problems", "ok", "healthy", "policyErrors"):
            continue
        if key in _KNOWN:
            label, say = _KNOWN[key]
            lines.append(f"  {label}: {say(value)}".rstrip())
        elif isinstance(value, dict) and value:  # a section (the model endpoint): a line a key
            lines.append(f"  {_SECTIONS.get(key, _label(key))}:")
            lines.extend(f"    {_label(k)}: {_words(v)}" for k, v in value.items() if v is not None)
        else:
            lines.append(f"  {_label(key)}: {_words(value)}")
    if goals is not None:
        listed = goals.get("goals") or []
        own = sum(1 for g in listed if g.get("source") == "workspace")
        lines.append(f"  goals: {len(listed)}, {own} of them from .agent/goals.toml")
    if not (Path(workspace) / ".agent" / "goals.toml").is_file():
        lines.append("  goals file: none (.agent/goals.toml would add workspace goals)")
    lines.extend(f"  problem: {p}" for p in problems)
    lines.append("healthy" if not problems else "NOT healthy")
    return not problems, "\n".join(lines)


def _label(key: str) -> str:
    """sandboxRequested: sandbox requested."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", key).lower()


def _words(value: JsonValue) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {_words(v)}" for k, v in value.items()) or "-"
    if isinstance(value, list):
        return ", ".join(_words(v) for v in value) or "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "-" if value is None else str(value)
