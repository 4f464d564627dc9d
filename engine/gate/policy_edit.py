"""Changing a policy file (by default the user's) while keeping what it says, comments
included: listing, saving and removing rules, trusting workspaces. One change at a time, across
threads and processes; a broken file is never touched, and a change that would not read back
exactly as meant is undone."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import threading
import tomllib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from engine.gate.policy import PolicyError, Rule, parse_rules, parse_trusted, read_toml

__all__ = [
    "describe_rules",
    "list_rules",
    "list_trusted",
    "remove_rule",
    "save_rules",
    "set_trusted",
]


def list_rules(path: Path | None = None) -> list[Rule]:
    """The rules of a policy file (default: the user's); raises PolicyError when broken."""
    path = path or _user_file()
    data = read_toml(path)
    parse_trusted(data, path)
    return parse_rules(data, path, allow_workspace=True)


def save_rules(rules: Iterable[Rule], path: Path | None = None) -> list[Rule]:
    """Append rules to a policy file (default: the user's), keeping what it already says;
    returns them as saved (with their positions). A broken file is not touched."""
    path = path or _user_file()
    with _editing(path):
        existing = list_rules(path)
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        added = [r for r in rules if _bare(r) not in {_bare(e) for e in existing}]
        if not added:
            return []
        blocks = "".join("\n" + r.toml() for r in added)
        _write(path, text + ("" if text.endswith("\n") or not text else "\n") + blocks)
        saved = list_rules(path)
    return saved[len(existing) :]


def remove_rule(index: int, path: Path | None = None) -> Rule:
    """Remove the ``index``-th (1-based) rule of a policy file, keeping everything else."""
    path = path or _user_file()
    with _editing(path):
        return _remove_rule(index, path)


def _remove_rule(index: int, path: Path) -> Rule:
    rules = list_rules(path)
    if not 1 <= index <= len(rules):
        raise PolicyError(f"{path}: there is no rule {index} (it has {len(rules)})")
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    headers = [i for i, line in enumerate(lines) if re.match(r"\s*\[\[\s*rule\s*\]\]", line)]
    if len(headers) != len(rules):
        raise PolicyError(
            f"{path}: rules are not all written as [[rule]] tables; remove rule {index} by hand"
        )
    start = headers[index - 1]
    end = next(
        (i for i in range(start + 1, len(lines)) if re.match(r"\s*\[", lines[i])), len(lines)
    )
    kept = lines[:start] + lines[end:]
    _write(path, "".join(kept))
    after = list_rules(path)
    expected = [_bare(r) for r in rules[: index - 1] + rules[index:]]
    if [_bare(r) for r in after] != expected:
        _write(path, "".join(lines))
        raise PolicyError(f"{path}: could not remove rule {index} cleanly; the file is unchanged")
    return rules[index - 1]


def list_trusted(path: Path | None = None) -> list[str]:
    """The workspaces a policy file (default: the user's) trusts; raises PolicyError when
    broken."""
    path = path or _user_file()
    return parse_trusted(read_toml(path), path)


def set_trusted(workspace: Path, trusted: bool, path: Path | None = None) -> bool:
    """Trust ``workspace`` (its own ``.agent/policy.toml`` may then loosen) or stop trusting it,
    in a policy file (default: the user's), keeping the rest of the file; False when it was
    already so. A broken file is not touched."""
    path = path or _user_file()
    root = os.path.realpath(workspace)
    with _editing(path):
        data = read_toml(path)
        before = parse_trusted(data, path)
        rules = [_bare(r) for r in parse_rules(data, path, allow_workspace=True)]
        listed = [w for w in before if os.path.realpath(w) != root]
        if trusted:
            listed.append(root)
        if listed == before:
            return False
        old = path.read_text(encoding="utf-8") if path.exists() else ""
        _write(path, _with_trusted(old, listed))
        try:
            after = read_toml(path)
            kept = [_bare(r) for r in parse_rules(after, path, allow_workspace=True)]
            same = parse_trusted(after, path) == listed and kept == rules
        except PolicyError:
            same = False
        if not same:
            _write(path, old)
            raise PolicyError(
                f"{path}: could not change trustedWorkspaces cleanly; the file is unchanged "
                "(edit it by hand)"
            )
    return True


def _with_trusted(text: str, listed: list[str]) -> str:
    """``text`` with its top-level ``trustedWorkspaces`` set to ``listed`` (removed when empty),
    before the first table so that it stays a top-level key."""
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    first_table = next((i for i, ln in enumerate(lines) if re.match(r"\s*\[", ln)), len(lines))
    start = next(
        (i for i in range(first_table) if re.match(r"\s*trustedWorkspaces\s*=", lines[i])), None
    )
    at = first_table
    if start is not None:  # replace it, however many lines its array takes
        end = next(
            (j for j in range(start + 1, first_table + 1) if _parses("".join(lines[start:j]))),
            start + 1,
        )
        del lines[start:end]
        at = start
    if listed:
        value = ", ".join(json.dumps(w, ensure_ascii=False) for w in listed)
        blank = "\n" if start is None and at < len(lines) else ""
        lines.insert(at, f"trustedWorkspaces = [{value}]\n{blank}")
    return "".join(lines)


def _parses(text: str) -> bool:
    try:
        return "trustedWorkspaces" in tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return False


def _bare(rule: Rule) -> Rule:
    return Rule(rule.action, rule.tool, rule.subcommand, rule.options, rule.paths, rule.workspace)


def _user_file() -> Path:
    from engine.userdirs import policy_file

    return policy_file()


@contextlib.contextmanager
def _editing(path: Path) -> Iterator[None]:
    """One change to a policy file at a time, across threads and processes (two sessions may
    save "always" answers at once): a read-modify-write never loses another's rule."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(f".{path.name}.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)


def describe_rules(rules: Sequence[Rule]) -> list[str]:
    return [f"{r.index}. {r.describe()}" + (f"  # {r.note}" if r.note else "") for r in rules]
