"""``python -m server [--tcp HOST:PORT] [--ws HOST:PORT] [--log-file F] [--log-level L]``.

The same as ``agentd serve``: through ``server.cli`` when it is there, else parsed here, so the
server can start even without the CLI (and without importing what the CLI needs).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m server", description="Serve agentd over JSON-RPC."
    )
    transport = parser.add_mutually_exclusive_group()
    transport.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP instead of stdio")
    transport.add_argument("--ws", metavar="HOST:PORT", help="listen on WebSocket instead of stdio")
    parser.add_argument("--log-file", metavar="FILE", help="log here instead of stderr")
    parser.add_argument(
        "--log-level", default="WARNING", help="DEBUG, INFO, WARNING (default), ERROR"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if importlib.util.find_spec("server.cli") is not None:
        cli = importlib.import_module("server.cli")  # by name: it is built separately
        return int(cli.main(["serve", *args]) or 0)
    from server.serve import serve

    options = _parse(args)
    return serve(
        tcp=options.tcp, ws=options.ws, log_file=options.log_file, log_level=options.log_level
    )


if __name__ == "__main__":
    sys.exit(main())
