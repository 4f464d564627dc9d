"""The `agentd` command line: `serve` the language server, or be a stdio client of one.

`run`, `goals` and `doctor` start `agentd serve` as a child and speak the same JSON-RPC an editor
speaks, so the CLI exercises the real protocol; `runs` and `trace` read the workspace's traces.
Each command is a module of ``server.cli.commands``; heavy modules (rich, pydantic, the engine,
pygls) are imported inside the commands that need them: `agentd serve` start-up is benchmarked.
"""

from __future__ import annotations

import sys

from server.cli.commands import COMMANDS
from server.cli.parser import EXIT_CANCELLED, EXIT_USAGE, Parser, UsageError, parse

EXAMPLES = """\
examples:
  agentd run swe.test          run the project's tests, from any folder inside it
  agentd run swe.lint --dry-run    what the gate says about each step, running nothing
  agentd runs                  the recent runs here
  agentd trace last            the last run: each step and its output; the trace verified
  agentd goals                 the goals a run can be given
  agentd completion bash       shell completion (also zsh and fish)

`agentd COMMAND --help` shows each command's options and examples.
"""


def build_parser() -> Parser:
    from engine import __version__  # engine/__init__.py holds only the version

    parser = Parser(
        prog="agentd",
        description="Plan goals into steps, gate each step by risk, run them in parallel,\n"
        "verify the results into a trust score and keep a hash-chained trace.",
        epilog=EXAMPLES,
    )
    parser.add_argument("--version", action="version", version=f"agentd {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for module in COMMANDS:
        module.add(commands)
    parser.commands = {
        name: sub for name, sub in commands.choices.items() if isinstance(sub, Parser)
    }
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `agentd` console script; returns the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    if not argv:  # what git and cargo do: the overview, as a usage error
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        args = parse(parser, argv)
        if getattr(args, "handler", None) is None:
            parser.error("give a COMMAND")
        code: int = args.handler(args)
        return code
    except SystemExit as exc:  # argparse exits 2 on bad usage, 0 on --help and --version
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    except UsageError as exc:
        print(f"agentd: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_CANCELLED


if __name__ == "__main__":
    sys.exit(main())
