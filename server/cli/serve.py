"""`agentd serve`: the language server on a transport, with the log on stderr or a file.

This is where a front-end (the language server) meets a transport; nothing heavy is imported
before the transport reads its first message (start-up time is benchmarked).
"""

from __future__ import annotations

import gc
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from server.transport.outbox import STALL_TIMEOUT_S

log = logging.getLogger(__name__)

MODEL_SDK_LOGGERS = ("openai", "httpx", "httpcore")


def serve(
    *,
    tcp: str | None = None,
    ws: str | None = None,
    socket: str | None = None,
    allow_origins: Sequence[str] = (),
    log_file: str | None = None,
    log_level: str = "WARNING",
    stall_timeout_s: float = STALL_TIMEOUT_S,
) -> int:
    """Serve over stdio (default), ``tcp="HOST:PORT"`` or ``ws="HOST:PORT"``; the exit code."""
    from server.lsp.pygls_compat import quiet_pygls_logs
    from server.lsp.session import LspFrontEnd
    from server.transport.serve import (
        Listen,
        TransportError,
        parse_address,
        serve as serve_transport,
    )

    try:
        if sum(x is not None for x in (tcp, ws, socket)) > 1:
            raise ValueError("--tcp, --ws and --socket are exclusive")
        address = parse_address(tcp or ws or "") if tcp or ws else None
        scheme = "tcp" if tcp else "ws" if ws else "unix" if socket else "stdio"
        level = configure_logging(log_file, log_level)
        quiet_pygls_logs(level)
        path = Path(socket).expanduser().absolute() if socket else None
        where = Listen(scheme, address, stall_timeout_s, path, frozenset(allow_origins))
        # Everything imported so far (lsprotocol's ~200 ms of types) lives as long as the
        # process: freezing it keeps a full GC pass over it out of the `initialize` answer.
        gc.freeze()
        return serve_transport(LspFrontEnd(), where)
    except (ValueError, OSError, TransportError) as exc:
        print(f"agentd serve: {exc}", file=sys.stderr)
        return 2


def configure_logging(log_file: str | None, log_level: str) -> int:
    """Log to ``log_file`` or stderr (never stdout: it is the wire); the level as a number."""
    level = logging.getLevelName(log_level.upper())
    if not isinstance(level, int):
        raise ValueError(f"unknown log level {log_level!r}")
    handler: logging.Handler = (
        logging.FileHandler(log_file, encoding="utf-8")
        if log_file
        else logging.StreamHandler(sys.stderr)
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # The model SDK and its HTTP stack log requests (and tracebacks of failed ones) at DEBUG;
    # what agentd says about a model call is in its own log lines and in the trace.
    for sdk in MODEL_SDK_LOGGERS:
        logging.getLogger(sdk).setLevel(max(level, logging.WARNING))
    return level
