"""The `agentd` command line's grammar: one parser built from the command modules, with examples in
every ``--help`` and "did you mean" for a mistyped command, flag or choice.

Each command lives in a module of ``server.cli.commands`` with ``add(commands)`` (its subparser,
whose ``handler`` default runs it); the options several commands share are defined here once.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
import textwrap
from typing import TYPE_CHECKING, NoReturn, TypeAlias

if TYPE_CHECKING:
    Subparsers: TypeAlias = argparse._SubParsersAction["Parser"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CANCELLED = 0, 1, 2, 130
_INVALID_CHOICE = re.compile(r"invalid choice: (['\"])(?P<value>.*?)\1")


class UsageError(Exception):
    """Arguments that parse but make no sense together (exit 2, the message on stderr)."""


class Parser(argparse.ArgumentParser):
    """argparse with the project's conventions: help text laid out as written (the examples), no
    prefix abbreviations (a new flag must not change what an old script meant), and a suggestion
    on every typo it can guess."""

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("allow_abbrev", False)
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.commands: dict[str, Parser] = {}  # the top level's: name -> the command's parser
        self.summary = ""  # a command's one-line help (listings and shell completion)

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}{self.suggestion(message)}\n")

    def suggestion(self, message: str) -> str:
        """``; did you mean 'run'?`` for the closest known word, or nothing."""
        if (match := _INVALID_CHOICE.search(message)) is not None:
            words = [str(c) for a in self._actions if a.choices for c in a.choices]
            return _closest(match["value"], words)
        if message.startswith("unrecognized arguments: "):
            flags = list(self._option_string_actions)
            for token in message.removeprefix("unrecognized arguments: ").split():
                if token.startswith("-") and (hint := _closest(token.split("=")[0], flags)):
                    return hint
        return ""


def _closest(word: str, known: list[str]) -> str:
    found = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    return f"; did you mean {found[0]!r}?" if found else ""


def command(
    commands: Subparsers, name: str, *, summary: str, description: str, examples: str
) -> Parser:
    """A command's parser: its one-line summary in the command list, its description and its
    examples (with the exit statuses) in its ``--help``."""
    parser = commands.add_parser(
        name, help=summary, description=textwrap.fill(description, 80), epilog=examples
    )
    parser.summary = summary
    return parser


def parse(parser: Parser, argv: list[str]) -> argparse.Namespace:
    """Parse, and let the command's own parser report what it did not recognise, so the message
    shows that command's usage and its closest flag."""
    args, extras = parser.parse_known_args(argv)
    if extras:
        command = parser.commands.get(getattr(args, "command", None) or "", parser)
        command.error("unrecognized arguments: " + " ".join(extras))
    return args


# -- options several commands share --------------------------------------------------------------


def add_workspace(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workspace",
        "-w",
        metavar="DIR",
        help="the workspace (default: the nearest folder upwards with .agent/, .git, "
        "pyproject.toml, package.json, Cargo.toml or go.mod, else the current one)",
    )


def add_json(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--json", action="store_true", help=f"print {what} as JSON")


def add_verbose(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--verbose", "-v", action="store_true", help="show the server's log and all output"
    )


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < 365 * 24 * 3600:  # also refuses nan and inf
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, got {text!r}")
    return value
