"""`agentd trace` and `agentd doctor`: a trace and a health report, in words."""

from __future__ import annotations

import json
import re
from pathlib import Path

from server.cli.client import JsonValue
from server.cli.render import plural


def trace_text(
    report_path: str,
    records: list[dict[str, JsonValue]],
    problems: list[str],
    *,
    truncated: bool,
    complete: bool,
    marks: dict[str, str],
) -> str:
    """A trace as a table of records, then the verdict on its hash chain."""
    lines = [
        f"{r.get('seq', '?'):>4}  {r.get('ts', '')}  {r.get('type', ''):<19} "
        f"{_record_summary(r)}".rstrip()
        for r in records
    ]
    if problems:
        verdict = [f"{marks['failed']} hash chain BROKEN:", *(f"  {p}" for p in problems)]
    else:
        verdict = [f"{marks['succeeded']} hash chain verified ({plural(len(records), 'record')})"]
    if truncated:
        verdict.append(f"{marks['failed']} cut short: the writer stopped mid-record")
    elif not problems and not complete:
        verdict.append(f"{marks['failed']} incomplete: the run did not finish (no run.finished)")
    return "\n".join([f"Trace {report_path}", *lines, *verdict])


def _record_summary(record: dict[str, JsonValue], width: int = 100) -> str:
    parts: list[str] = []
    for key, value in record.items():
        if key in ("seq", "ts", "type", "prev"):
            continue
        if key == "step" and isinstance(value, dict):
            status = value.get("status")
            exit_code = value.get("exitCode")
            parts.append(f"status={status}" + ("" if exit_code is None else f" exit={exit_code}"))
            parts.append(f"{value.get('durationMs', 0)}ms")
        elif key == "risk" and isinstance(value, dict):
            parts.append(f"risk={value.get('level')}")
        elif key == "steps" and isinstance(value, list):
            parts.append(f"steps={len(value)}")
        elif isinstance(value, dict | list):
            parts.append(f"{key}={json.dumps(value, ensure_ascii=False, separators=(',', ':'))}")
        else:
            parts.append(f"{key}={value}")
    text = " ".join(parts)
    return text if len(text) <= width else text[: width - 1] + "…"


def health_report(
    health: dict[str, JsonValue], workspace: str, goals: JsonValue, goals_problem: str | None
) -> tuple[bool, str]:
    """``agent/health`` (and whether the workspace's goals load) in words; healthy or not."""
    problems = [str(p) for p in health.get("problems") or []]
    if health.get("ok") is False or health.get("healthy") is False:
        problems.append("the server reports itself unhealthy")
    if goals_problem:
        problems.append(goals_problem)
    lines = [f"agentd {health.get('version', '?')}"]
    report = {"workspace": workspace} | health  # the server's view of the workspace wins
    for key, value in report.items():
        if key in ("version", "problems", "ok", "healthy"):
            continue
        if isinstance(value, dict) and value:  # a section (the language model): one line a key
            lines.append(f"  {_key_words(key)}:")
            lines.extend(
                f"    {_key_words(k)}: {_words(v)}" for k, v in value.items() if v is not None
            )
        else:
            lines.append(f"  {_key_words(key)}: {_words(value)}")
    if goals is not None:
        listed = goals.get("goals") or []
        own = sum(1 for g in listed if g.get("source") == "workspace")
        lines.append(f"  goals: {len(listed)}, {own} of them from .agent/goals.toml")
    if not (Path(workspace) / ".agent" / "goals.toml").is_file():
        lines.append("  goals file: none (.agent/goals.toml would add workspace goals)")
    lines.extend(f"  problem: {p}" for p in problems)
    lines.append("healthy" if not problems else "NOT healthy")
    return not problems, "\n".join(lines)


def _key_words(key: str) -> str:
    """stepTimeoutMs: step timeout ms."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", key).lower()


def _words(value: JsonValue) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {_words(v)}" for k, v in value.items()) or "-"
    if isinstance(value, list):
        return ", ".join(_words(v) for v in value) or "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "-" if value is None else str(value)
