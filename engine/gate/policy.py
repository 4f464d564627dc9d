"""Policies as code: allow / ask / deny rules on parsed commands, from two TOML files.

- the user's file (``engine.userdirs.policy_file()``) may loosen and tighten; it also names the
  workspaces the user trusts, and holds the rules "allow always" saves;
- a workspace's ``.agent/policy.toml`` (which arrives with a cloned repository) may only tighten,
  unless the user trusts that workspace.

For one command the strictest matching rule wins (deny, then ask, then allow); nothing lowers
``critical``. A file that cannot be read or has a mistake is reported with the file, the rule
and the key, and never loosens anything: while it is broken every step at least asks.

Changing the user's file (``agentd policy``, "always" answers) is ``engine.gate.policy_edit``;
the rules "always" answers save are ``engine.gate.always``.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

from engine.gate.base import Command

__all__ = ["Policy", "PolicyError", "Rule", "load_policy"]

Action = Literal["allow", "ask", "deny"]
ACTIONS: tuple[Action, ...] = ("allow", "ask", "deny")
STRICTNESS = {"allow": 0, "ask": 1, "deny": 2}
RULE_KEYS = ("action", "tool", "subcommand", "options", "paths", "workspace", "note")
WORKSPACE_FILE = Path(".agent") / "policy.toml"


class PolicyError(ValueError):
    """A broken policy file, or a change to one that cannot be made; the message names the file,
    the rule (1-based, in file order) and the key."""


@dataclass(frozen=True, slots=True)
class Rule:
    action: Action
    tool: str | None = None
    subcommand: str | None = None
    options: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    workspace: str | None = None
    note: str | None = None
    source: str = ""  # the file it came from
    index: int = 0  # its position there (1-based)

    def describe(self) -> str:
        parts = [self.action, self.tool or "any command"]
        if self.subcommand:
            parts.append(self.subcommand)
        parts += list(self.options)
        if self.paths:
            parts.append("on " + ", ".join(self.paths))
        if self.workspace:
            parts.append(f"in {self.workspace}")
        return " ".join(parts)

    def where(self) -> str:
        return f"rule {self.index} of {self.source}" if self.source else "a rule"

    def matches(self, command: Command, root: str) -> bool:
        if self.workspace is not None and os.path.realpath(self.workspace) != root:
            return False
        if self.tool not in (None, "*", command.tool):
            return False
        if self.subcommand is not None and self.subcommand != command.subcommand:
            return False
        if not set(self.options) <= command.options:
            return False
        if not self.paths:
            return True
        patterns = [_pattern(p) for p in self.paths]
        hits = [any(p.fullmatch(_comparable(path)) for p in patterns) for path in command.paths]
        if self.action == "allow":
            return all(hits)  # an allow rule must cover every path the command touches
        return any(hits)

    def toml(self) -> str:
        lines = ["[[rule]]"]
        for key in RULE_KEYS:
            value = getattr(self, key)
            if value in (None, ()):
                continue
            text = (
                json.dumps(value, ensure_ascii=False)
                if isinstance(value, str)
                else "[" + ", ".join(json.dumps(v, ensure_ascii=False) for v in value) + "]"
            )
            lines.append(f"{key} = {text}")
        return "\n".join(lines) + "\n"


def _pattern(glob: str) -> re.Pattern[str]:
    """A path glob: ``**`` any folders, ``*`` and ``?`` within one name."""
    text = os.path.expanduser(glob) if glob.startswith("~") else glob
    out = []
    i = 0
    while i < len(text):
        if text.startswith("**", i):
            out.append(".*")
            i += 2
        elif text[i] == "*":
            out.append("[^/]*")
            i += 1
        elif text[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(text[i]))
            i += 1
    return re.compile("".join(out))


def _comparable(path: str) -> str:
    return os.path.expanduser(path) if path.startswith("~") else path


@dataclass(frozen=True, slots=True)
class Policy:
    """The rules in force for one workspace."""

    rules: tuple[Rule, ...] = ()
    trusted: bool = False  # the user trusts this workspace (its own file may loosen)
    errors: tuple[str, ...] = ()  # broken files: every step at least asks
    ignored: tuple[Rule, ...] = ()  # the workspace file's allow rules, not trusted

    def strictest(self, command: Command, root: str) -> tuple[Action | None, list[Rule]]:
        """The strictest action of the rules matching ``command`` and those rules."""
        matching = [r for r in self.rules if r.matches(command, root)]
        if not matching:
            return None, []
        top = max(matching, key=lambda r: STRICTNESS[r.action]).action
        return top, [r for r in matching if r.action == top]


def load_policy(workspace: Path, user_file: Path | None = None) -> Policy:
    """The policy for ``workspace``: the user's file (default ``userdirs.policy_file()``) and
    the workspace's ``.agent/policy.toml``. Never raises for a broken file (see ``errors``)."""
    if user_file is None:
        from engine.userdirs import policy_file

        user_file = policy_file()
    root = os.path.realpath(workspace)
    errors: list[str] = []
    user_rules: list[Rule] = []
    trusted = False
    try:
        data = read_toml(user_file)
        user_rules = parse_rules(data, user_file, allow_workspace=True)
        trusted = root in {os.path.realpath(w) for w in parse_trusted(data, user_file)}
    except PolicyError as exc:
        errors.append(str(exc))
    workspace_file = Path(root) / WORKSPACE_FILE
    ws_rules: list[Rule] = []
    try:
        ws_data = read_toml(workspace_file)
        if "trustedWorkspaces" in ws_data:
            raise PolicyError(
                f"{workspace_file}: key 'trustedWorkspaces' belongs in the user's "
                f"policy file ({user_file}), not in a workspace"
            )
        ws_rules = parse_rules(ws_data, workspace_file, allow_workspace=False)
    except PolicyError as exc:
        errors.append(str(exc))
    ignored = tuple(r for r in ws_rules if r.action == "allow" and not trusted)
    rules = [r for r in user_rules if r.workspace is None or os.path.realpath(r.workspace) == root]
    rules += [r for r in ws_rules if r not in ignored]
    return Policy(tuple(rules), trusted, tuple(errors), ignored)


def read_toml(path: Path) -> dict[str, object]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{path}: cannot be read ({exc})") from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{path}: not valid TOML ({exc})") from exc


def parse_trusted(data: dict[str, object], path: Path) -> list[str]:
    value = data.get("trustedWorkspaces", [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PolicyError(f"{path}: key 'trustedWorkspaces' must be a list of folder paths")
    return cast(list[str], value)


def parse_rules(data: dict[str, object], path: Path, *, allow_workspace: bool) -> list[Rule]:
    unknown = set(data) - {"rule", "trustedWorkspaces"}
    if unknown:
        raise PolicyError(
            f"{path}: unknown key {sorted(unknown)[0]!r} (expected [[rule]] tables"
            " and trustedWorkspaces)"
        )
    raw = data.get("rule", [])
    if not isinstance(raw, list):
        raise PolicyError(f"{path}: 'rule' must be a list of [[rule]] tables")
    return [_rule(item, path, index, allow_workspace) for index, item in enumerate(raw, 1)]


def _rule(item: object, path: Path, index: int, allow_workspace: bool) -> Rule:
    where = f"{path}: rule {index}"
    if not isinstance(item, dict):
        raise PolicyError(f"{where}: must be a table ([[rule]])")
    for key in item:
        if key not in RULE_KEYS:
            raise PolicyError(f"{where}: unknown key {key!r} (expected {', '.join(RULE_KEYS)})")
    action = item.get("action")
    if action not in ACTIONS:
        raise PolicyError(f"{where}: key 'action' must be one of allow, ask, deny (got {action!r})")
    strings = {key: item.get(key) for key in ("tool", "subcommand", "workspace", "note")}
    for key, value in strings.items():
        if value is not None and (not isinstance(value, str) or not value):
            raise PolicyError(f"{where}: key {key!r} must be a non-empty string")
    lists = {key: item.get(key, []) for key in ("options", "paths")}
    for key, value in lists.items():
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise PolicyError(f"{where}: key {key!r} must be a list of non-empty strings")
    if strings["tool"] is None and not lists["paths"]:
        raise PolicyError(
            f"{where}: needs key 'tool' or 'paths' (a rule must say what it is about)"
        )
    if strings["workspace"] is not None:
        if not allow_workspace:
            raise PolicyError(
                f"{where}: key 'workspace' is only for the user's policy file "
                "(a workspace's own file is about that workspace)"
            )
        if not os.path.isabs(str(strings["workspace"])):
            raise PolicyError(f"{where}: key 'workspace' must be an absolute path")
    text = cast(dict[str, str | None], strings)
    return Rule(
        action=cast(Action, action),
        tool=text["tool"],
        subcommand=text["subcommand"],
        options=tuple(cast(list[str], lists["options"])),
        paths=tuple(cast(list[str], lists["paths"])),
        workspace=text["workspace"],
        note=text["note"],
        source=str(path),
        index=index,
    )
