"""`agentd serve`: the language server itself (what editors start)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from server.cli.parser import command, positive_seconds

if TYPE_CHECKING:
    from server.cli.parser import Subparsers

EXAMPLES = """\
examples:
  agentd serve                          JSON-RPC on stdin/stdout (what an editor starts)
  agentd serve --socket ~/.agentd.sock  a Unix socket only you can use (mode 0600)
  agentd serve --tcp 127.0.0.1:7777     TCP, one session per connection (needs the token)
  agentd serve --ws 127.0.0.1:7777      WebSocket (needs the token; no web page may connect)
  agentd serve --log-file agentd.log --log-level INFO

stdin must be a pipe or a socket (an editor's); on a terminal, use `agentd run` instead.
--tcp and --ws print a secret token on stderr (and the file that holds it): clients send it as
initializationOptions.token in initialize, or ?token=... in a WebSocket URL.
"""


def add(commands: Subparsers) -> None:
    serve = command(
        commands,
        "serve",
        summary="run the language server (stdio by default)",
        description="Serve the agentd protocol (JSON-RPC, LSP framing) to an editor.",
        examples=EXAMPLES,
    )
    transport = serve.add_mutually_exclusive_group()
    transport.add_argument(
        "--tcp", metavar="HOST:PORT", help="listen on TCP (one session per connection)"
    )
    transport.add_argument("--ws", metavar="HOST:PORT", help="serve WebSocket connections")
    transport.add_argument(
        "--socket",
        metavar="PATH",
        help="listen on a Unix socket (mode 0600; the preferred local way)",
    )
    serve.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="let web pages from ORIGIN open a WebSocket (e.g. http://localhost:3000); repeatable",
    )
    serve.add_argument("--log-file", metavar="FILE", help="write the server log here")
    serve.add_argument("--log-level", default="WARNING", metavar="LEVEL", help="default WARNING")
    serve.add_argument(
        "--stall-timeout",
        type=positive_seconds,
        default=60.0,
        metavar="SECONDS",
        help="close a connection whose client reads nothing for this long (default 60)",
    )
    serve.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from server.cli.serve import serve

    return serve(
        tcp=args.tcp,
        ws=args.ws,
        socket=args.socket,
        allow_origins=args.allow_origin,
        log_file=args.log_file,
        log_level=args.log_level,
        stall_timeout_s=args.stall_timeout,
    )
