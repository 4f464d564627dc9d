"""`agentd completion SHELL`: the shell completion script for bash, zsh or fish."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from server.cli.parser import EXIT_OK, command

if TYPE_CHECKING:
    from server.cli.parser import Subparsers

SHELLS = ("bash", "zsh", "fish")
EXAMPLES = """\
examples:
  source <(agentd completion bash)      in ~/.bashrc
  source <(agentd completion zsh)       in ~/.zshrc, after compinit
  agentd completion fish | source       in ~/.config/fish/config.fish

It completes commands, flags, goal ids (of the workspace, or of --workspace DIR) and run ids.
"""


def add(commands: Subparsers) -> None:
    completion = command(
        commands,
        "completion",
        summary="print the shell completion script for bash, zsh or fish",
        description="Print a completion script for your shell (load it as the examples show).",
        examples=EXAMPLES,
    )
    completion.add_argument("shell", choices=SHELLS, metavar="SHELL", help="bash, zsh or fish")
    completion.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from server.cli.completion import script
    from server.cli.main import build_parser

    print(script(args.shell, build_parser()), end="")
    return EXIT_OK
