"""Who may connect to a socket: a per-server secret token for TCP and WebSocket, the browser's
``Origin`` for WebSocket, the peer's user for a Unix socket. Stdio needs none (its peer started us).

The token is made at start-up, written to a file only the user can read and shown on stderr with
how to pass it: in ``initialize`` as ``initializationOptions.token`` (TCP and WebSocket), or in a
WebSocket's URL as ``?token=...``. Until it is given, a connection gets nothing but an error for
its first message, and is closed.
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets
import socket
import struct
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from server import wire
from server.transport.framing import Frame, Incoming, Rejected

log = logging.getLogger(__name__)

TOKEN_OPTION = "token"


def new_token() -> str:
    return secrets.token_urlsafe(32)


def write_token(path: Path, token: str) -> None:
    """The token in a file only this user can read (its folder too)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    os.chmod(path, 0o600)


def token_matches(given: object, token: str) -> bool:
    return isinstance(given, str) and hmac.compare_digest(given.encode(), token.encode())


async def require_token(
    frames: AsyncIterator[Frame], token: str, refuse: Callable[[Rejected], None]
) -> AsyncIterator[Frame]:
    """``frames``, once the first message has proven it knows ``token`` (which is then removed
    from it, so it is never logged or kept); otherwise one error answer and the end."""
    async for frame in frames:
        if isinstance(frame, Incoming) and _presents(frame.message, token):
            yield frame
            break
        msg_id = frame.message.get("id") if isinstance(frame, Incoming) else None
        log.warning("refused a connection that did not present the server's token")
        refuse(
            Rejected(
                wire.INVALID_REQUEST,
                "this server needs its token: send it as initializationOptions.token in "
                "initialize (agentd serve printed where to find it)",
                msg_id if isinstance(msg_id, int | str) else None,
            )
        )
        return
    async for frame in frames:
        yield frame


def _presents(message: dict[str, object], token: str) -> bool:
    if message.get("method") != "initialize":
        return False
    params = message.get("params")
    options = params.get("initializationOptions") if isinstance(params, dict) else None
    if not isinstance(options, dict) or not token_matches(options.get(TOKEN_OPTION), token):
        return False
    del options[TOKEN_OPTION]
    return True


def peer_is_us(sock: socket.socket) -> bool:
    """A Unix socket's peer runs as this user (or as root)."""
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _, uid, _ = struct.unpack("3i", creds)
    return uid in (os.getuid(), 0)


def origin_allowed(origin: str | None, allowed: frozenset[str]) -> bool:
    """WebSocket connections from a web page carry its Origin; only listed ones may connect
    (any web page could otherwise reach a server on 127.0.0.1)."""
    return origin is None or origin in allowed
