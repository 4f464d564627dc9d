"""Secrets: which environment variables hold credentials, scrubbing them, redacting text.

Steps never see a secret-named variable (the model API key above all), and every line that
reaches a trace, a client or a spill file can be passed through a ``Redactor``.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterable, Mapping

REDACTED = "[REDACTED]"
MIN_ENV_SECRET_LENGTH = 6  # shorter values ("1", "true") would redact ordinary words
STREAM_FLUSH_AT = 64 * 1024  # bytes a stream redactor holds at most while waiting for a newline

# A name part equal to one of these marks a credential (OPENAI_API_KEY, DB_PASS, X_AUTH).
_SECRET_WORDS = frozenset(
    {
        "KEY", "KEYS", "APIKEY", "TOKEN", "TOKENS", "PASS", "PWD", "PW", "AUTH",
        "AUTHORIZATION", "COOKIE", "COOKIES", "SESSION", "PRIVATE", "CREDS", "PAT", "DSN", "JWT",
        "WEBHOOK", "SIGNING", "OTP",
    }
)  # fmt: skip
# A name part containing one of these is a credential even when glued (CLIENTSECRET, DBPASSWORD).
_SECRET_INFIXES = ("SECRET", "PASSWORD", "PASSWD", "PASSPHRASE", "CREDENTIAL", "PRIVATEKEY")
# A name part ending in one of these is a credential (GHTOKEN, ACCESSKEY, BASICAUTH).
_SECRET_SUFFIXES = ("TOKEN", "KEY", "AUTH")
# Well-known names that match the words above but hold no secret.
_NOT_SECRET = frozenset(
    {
        "PWD", "OLDPWD", "KEYTIMEOUT", "DESKTOP_SESSION", "XDG_SESSION_ID", "XDG_SESSION_TYPE",
        "XDG_SESSION_CLASS", "XDG_SESSION_DESKTOP", "XDG_SESSION_PATH", "SESSION_MANAGER",
        "DBUS_SESSION_BUS_ADDRESS", "TOKENIZERS_PARALLELISM",
    }
)  # fmt: skip
_TRIVIAL_VALUES = frozenset({"true", "false", "enabled", "disabled", "none", "null", "unset"})
_NAME_PARTS = re.compile(r"[^A-Z0-9]+")


def is_secret_name(name: str) -> bool:
    """True when an environment variable named ``name`` probably holds a credential.

    Matching is per name part (split at ``_`` and other non-alphanumerics, case-insensitively),
    so ``KEYBOARD``, ``GIT_AUTHOR_NAME`` and ``TOKENIZERS_PARALLELISM`` are not secrets while
    ``OPENAI_API_KEY``, ``GITHUB_TOKEN`` and ``AWS_SECRET_ACCESS_KEY`` are. ``SSH_AUTH_SOCK`` is
    treated as one: it hands out the user's SSH keys to whoever can reach it.
    """
    upper = name.upper()
    if upper in _NOT_SECRET:
        return False
    for part in _NAME_PARTS.split(upper):
        if not part:
            continue
        if part in _SECRET_WORDS or part.endswith(_SECRET_SUFFIXES):
            return True
        if any(infix in part for infix in _SECRET_INFIXES):
            return True
    return False


# Token shapes masked whatever their source: (markers, pattern). The regex runs only when one of
# its literal markers occurs (a C substring search), and each pattern starts with a literal so
# the regex engine skips ahead by substring search too; word boundaries are look-behinds placed
# after that literal for the same reason.
_SHAPES: tuple[tuple[tuple[str, ...], re.Pattern[str]], ...] = tuple(
    (markers, re.compile(pattern))
    for markers, pattern in (
        # OpenAI (sk-, sk-proj-, sk-svcacct-) and Anthropic (sk-ant-) keys
        (("sk-",), r"sk-(?<![A-Za-z0-9_]sk-)[A-Za-z0-9_\-]{20,}"),
        # GitHub classic and fine-grained tokens
        (
            ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
            r"gh[pousr]_(?<![A-Za-z0-9_]gh._)[A-Za-z0-9]{20,}",
        ),
        (("github_pat_",), r"github_pat_[A-Za-z0-9_]{20,}"),
        # Slack
        (("xox",), r"xox[abposr]-(?<![A-Za-z0-9_]xox.-)[A-Za-z0-9\-]{10,}"),
        # AWS access key ids
        (
            ("AKIA", "ASIA"),
            r"(?:AKIA|ASIA)(?<![A-Za-z0-9]AKIA)(?<![A-Za-z0-9]ASIA)[0-9A-Z]{16}(?![0-9A-Za-z])",
        ),
        # PEM private keys, to the END line or, when the output was cut, to the end of the text
        (
            ("PRIVATE KEY-----",),
            r"(?s:-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----"
            r".*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z))",
        ),
        # HTTP bearer tokens; keeps "Bearer "
        (
            ("earer", "EARER"),
            r"(?P<keep>(?<![A-Za-z0-9_])(?:[Bb]earer|BEARER)\s+)[A-Za-z0-9\-._~+/]{16,}=*",
        ),
        # the password of scheme://user:password@host; keeps "://user:"
        (("://",), r"(?P<keep>://[^\s/:@\"']+:)[^\s/@\"']+(?=@)"),
    )
)


# One search for every shape's markers first: most text has none, and then no pattern runs.
_ANY_MARKER = re.compile("|".join(re.escape(m) for markers, _ in _SHAPES for m in markers))


class Redactor:
    """Replaces secret values and well-known token shapes in text by ``[REDACTED]``.

    Secrets are the explicit ``secrets`` (e.g. the configured API key) plus the values of the
    secret-named variables of ``env`` that are at least 6 characters long.

    JSON: typical token characters (``A-Z a-z 0-9 - _ . ~ + / = :``) are the same inside a
    JSON string, so redacting before or after ``json.dumps`` is equivalent; for a value with
    characters JSON escapes (quotes, backslashes, control or non-ASCII characters) its escaped
    form is added too, so serialized trace lines are covered as well.
    """

    def __init__(self, secrets: Iterable[str] = (), env: Mapping[str, str] | None = None) -> None:
        values = {s for s in secrets if s}
        for name, value in (env or {}).items():
            value = value.strip()
            if (
                len(value) >= MIN_ENV_SECRET_LENGTH
                and value.lower() not in _TRIVIAL_VALUES
                and is_secret_name(name)
            ):
                values.add(value)
        literals = set(values)
        for value in values:
            literals.add(json.dumps(value)[1:-1])
            literals.add(json.dumps(value, ensure_ascii=False)[1:-1])
            literals.update(_encodings(value))
        # Longest first, so a secret that contains another is masked whole.
        self._literals = sorted(literals, key=len, reverse=True)
        self.secret_count = len(values)

    def redact(self, text: str) -> str:
        """``text`` with every secret replaced; the very same object when there is none."""
        for literal in self._literals:
            if literal in text:
                text = text.replace(literal, REDACTED)
        if _ANY_MARKER.search(text) is None:
            return text
        for markers, pattern in _SHAPES:
            if any(marker in text for marker in markers):
                text = pattern.sub(_mask, text)
        return text


MIN_ENCODED_LENGTH = 12  # shorter values' encodings would mask ordinary text


def _encodings(value: str) -> set[str]:
    """Forms a secret takes when a step transforms it the cheap ways: reversed, and base64 at
    each of the three alignments it can have in an encoded stream (the part of the encoding
    that only depends on the secret). Hex dumps, folding, compression and the like are not
    recognised: that is why steps must not reach secrets at all (the sandbox, the allow-list)."""
    if len(value) < MIN_ENCODED_LENGTH:
        return set()
    raw = value.encode()
    forms = {value[::-1]}
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw).decode()
        first = (shift * 4 + 2) // 3  # characters that depend on what precedes the secret
        last = len(encoded) - 4  # the final group may depend on what follows it
        core = encoded[first:last]
        if len(core) >= MIN_ENCODED_LENGTH:
            forms.add(core)
            forms.add(core.translate(_URLSAFE))
    return forms


_URLSAFE = str.maketrans("+/", "-_")


def _mask(match: re.Match[str]) -> str:
    keep = match.groupdict().get("keep")
    return (keep or "") + REDACTED


_WHITESPACE = tuple(bytes([c]) for c in b" \t\n\r\v\f")
_PEM_BEGIN = b"-----BEGIN "
_PEM_END = b"-----END "


class StreamRedactor:
    """Redacts a byte stream that arrives in arbitrary pieces (a spill file's content).

    A token split between two pieces must still be masked whole, so bytes are held back to the
    last newline, and a PEM block until its END line. Past ``flush_at`` bytes without a newline
    the stream is cut after its last whitespace, or anywhere when there is none (a PEM block
    that long is then redacted only up to the cut). Bytes are decoded with ``surrogateescape``,
    so whatever is not a secret -- invalid UTF-8 included -- comes out byte for byte.
    """

    def __init__(self, redact: Callable[[str], str], flush_at: int = STREAM_FLUSH_AT) -> None:
        self._redact = redact
        self._flush_at = flush_at
        self._pending = bytearray()

    def feed(self, data: bytes | bytearray | memoryview) -> bytes:
        """The redacted bytes that are ready to be written; the rest waits for the next piece."""
        pending = self._pending
        pending += data
        end = self._cut(pending)
        if not end:
            return b""
        ready = pending[:end]
        del pending[:end]
        return self._apply(ready)

    def flush(self) -> bytes:
        """Everything still held, redacted (the stream has ended)."""
        ready, self._pending = self._pending, bytearray()
        return self._apply(ready) if ready else b""

    def _apply(self, raw: bytearray) -> bytes:
        text = raw.decode("utf-8", "surrogateescape")
        return self._redact(text).encode("utf-8", "surrogateescape")

    def _cut(self, pending: bytearray) -> int:
        """How many bytes of ``pending`` can be redacted now without splitting a secret."""
        end = pending.rfind(b"\n") + 1
        begin = pending.rfind(_PEM_BEGIN, 0, end)
        if begin >= 0 and pending.find(_PEM_END, begin, end) < 0:
            end = begin
        if len(pending) - end >= self._flush_at:
            floor = len(pending) - self._flush_at  # so that less than flush_at stays held
            space = max(pending.rfind(ws, floor) for ws in _WHITESPACE)
            end = space + 1 if space >= 0 else len(pending)
        return end
