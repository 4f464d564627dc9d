"""`agentd policy`: the rules of the user's policy file (where "allow always" answers go) and of
the workspace's own, removing one, and trusting a workspace. Reads and edits the files directly
(no server): the next run's gate reads them."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from server.cli.parser import EXIT_FAILED, EXIT_OK, EXIT_USAGE, add_json, add_workspace, command

if TYPE_CHECKING:
    from engine.gate.policy import Policy, Rule
    from server.cli.parser import Subparsers

EXAMPLES = """\
examples:
  agentd policy list           your rules (numbered), trusted workspaces, and this workspace's
  agentd policy remove 3       remove rule 3 of your policy file (an "allow always" gone too far)
  agentd policy trust          let this workspace's .agent/policy.toml loosen the gate too
  agentd policy untrust DIR    stop trusting DIR: its own rules may only tighten again

Your policy file is the platform's configuration folder's agentd/policy.toml (AGENTD_CONFIG_DIR
overrides the folder); docs/gate.md describes the rules. Answering "allow always" (or "reject
always") to a prompt saves a rule there.

Exit status: 0 done, 1 `list` found a broken policy file (named on stderr), 2 bad usage, no such
rule, or a file that cannot be changed.
"""


def add(commands: Subparsers) -> None:
    policy = command(
        commands,
        "policy",
        summary="list or remove policy rules; trust a workspace",
        description="Show and change the rules the gate follows: your own policy file (which "
        "may loosen and tighten) and the workspace's .agent/policy.toml (which may only "
        "tighten, unless you trust the workspace).",
        examples=EXAMPLES,
    )
    actions = policy.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="list the rules and the trusted workspaces")
    add_workspace(listing)
    add_json(listing, "the rules")
    listing.set_defaults(handler=list_handler)
    remove = actions.add_parser("remove", help="remove rule N of your policy file")
    remove.add_argument("number", type=int, metavar="N", help="the rule's number (policy list)")
    remove.set_defaults(handler=remove_handler)
    for name, verb in (("trust", "trust"), ("untrust", "stop trusting")):
        trust = actions.add_parser(name, help=f"{verb} a workspace's own policy file")
        trust.add_argument(
            "folder", nargs="?", metavar="DIR", help="the workspace (default: this one)"
        )
        trust.set_defaults(handler=trust_handler, trusted=name == "trust")


def list_handler(args: argparse.Namespace) -> int:
    from engine.gate.policy import WORKSPACE_FILE, PolicyError, load_policy
    from engine.gate.policy_edit import list_rules, list_trusted
    from engine.userdirs import policy_file
    from server.cli.workspace import workspace_for

    workspace = workspace_for(args.workspace)
    user_file = policy_file()
    errors: list[str] = []
    try:
        user_rules, trusted = list_rules(user_file), list_trusted(user_file)
    except PolicyError as exc:
        user_rules, trusted = [], []
        errors.append(str(exc))
    policy = load_policy(workspace, user_file)
    own = str(Path(workspace).resolve() / WORKSPACE_FILE)
    errors += [e for e in policy.errors if e not in errors]
    ws_rules = sorted(
        (r for r in (*policy.rules, *policy.ignored) if r.source == own), key=lambda r: r.index
    )
    if args.json:
        report = {
            "file": str(user_file),
            "rules": [_rule_json(r) for r in user_rules],
            "trustedWorkspaces": trusted,
            "workspace": {
                "path": str(workspace),
                "file": own,
                "trusted": policy.trusted,
                "rules": [_rule_json(r) | {"ignored": r in policy.ignored} for r in ws_rules],
            },
            "rulesInForce": len(policy.rules),
            "errors": errors,
        }
        print(json.dumps(report, indent=2))
    else:
        print(_list_text(user_file, user_rules, trusted, own, ws_rules, policy))
    for error in errors:
        print(f"agentd: {error}", file=sys.stderr)
    return EXIT_FAILED if errors else EXIT_OK


def _list_text(
    user_file: Path,
    user_rules: list[Rule],
    trusted: list[str],
    own: str,
    ws_rules: list[Rule],
    policy: Policy,
) -> str:
    exists = "" if user_file.exists() else ' (none yet: "allow always" answers create it)'
    lines = [f"Your policy file: {user_file}{exists}"]
    lines += [f"  {_rule_line(r)}" for r in user_rules] or ["  no rules"]
    lines.append("Trusted workspaces: " + (", ".join(trusted) or "none"))
    where = (
        "trusted: its allow rules apply" if policy.trusted else "not trusted: it may only tighten"
    )
    if ws_rules or Path(own).exists():
        lines.append(f"This workspace's own file: {own} ({where})")
        for rule in ws_rules:
            ignored = "  (ignored: not trusted)" if rule in policy.ignored else ""
            lines.append(f"  {_rule_line(rule)}{ignored}")
    lines.append(f"Rules in force here: {len(policy.rules)}")
    return "\n".join(lines)


def _rule_line(rule: Rule) -> str:
    return f"{rule.index}. {rule.describe()}" + (f"  # {rule.note}" if rule.note else "")


def _rule_json(rule: Rule) -> dict[str, Any]:
    data: dict[str, Any] = {"index": rule.index, "action": rule.action}
    for key in ("tool", "subcommand", "workspace", "note"):
        if getattr(rule, key) is not None:
            data[key] = getattr(rule, key)
    for key in ("options", "paths"):
        if getattr(rule, key):
            data[key] = list(getattr(rule, key))
    data["description"] = rule.describe()
    return data


def remove_handler(args: argparse.Namespace) -> int:
    from engine.gate.policy import PolicyError
    from engine.gate.policy_edit import remove_rule
    from engine.userdirs import policy_file

    path = policy_file()
    try:
        rule = remove_rule(args.number, path)
    except PolicyError as exc:
        print(f"agentd: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"Removed rule {args.number} of {path}: {rule.describe()}")
    return EXIT_OK


def trust_handler(args: argparse.Namespace) -> int:
    from engine.gate.policy import WORKSPACE_FILE, PolicyError, load_policy
    from engine.gate.policy_edit import set_trusted
    from engine.userdirs import policy_file
    from server.cli.workspace import workspace_for

    folder = workspace_for(args.folder)
    path = policy_file()
    try:
        changed = set_trusted(folder, args.trusted, path)
    except PolicyError as exc:
        print(f"agentd: {exc}", file=sys.stderr)
        return EXIT_USAGE
    real = folder.resolve()
    if not args.trusted:
        done = "No longer trusted" if changed else "Was not trusted"
        print(f"{done}: {real} (its .agent/policy.toml may only tighten the gate).")
        return EXIT_OK
    print(
        f"{'Trusted' if changed else 'Already trusted'}: {real} (saved in {path}); its "
        ".agent/policy.toml may now loosen the gate too."
    )
    own = str(real / WORKSPACE_FILE)
    for rule in load_policy(folder, path).rules:
        if rule.source == own and rule.action == "allow":
            print(f"  now in force: {rule.describe()} (rule {rule.index} of {own})")
    return EXIT_OK
