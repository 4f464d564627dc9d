"""Secret names, environment scrubbing and redaction."""

from __future__ import annotations

import json

import pytest

from engine.secrets import REDACTED, Redactor, StreamRedactor, is_secret_name

OPENAI_KEY = "sk-proj-" + "A1b2C3d4E5" * 4
GITHUB_TOKEN = "ghp_" + "x1Y2z3" * 6


@pytest.mark.parametrize(
    "name",
    [
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "GITHUB_TOKEN",
        "GH_TOKEN",
        "NPM_TOKEN",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SESSION_TOKEN",
        "DB_PASSWORD",
        "MYSQL_PWD",
        "PGPASSWORD",
        "SMTP_PASS",
        "HTPASSWD",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "CLIENT_SECRET",
        "clientSecret",
        "apiKey",
        "HTTP_AUTHORIZATION",
        "NPM_CONFIG__AUTH",
        "BASICAUTH",
        "SESSION_COOKIE",
        "FLASK_SESSION",
        "SSH_PRIVATE_KEY",
        "GPG_PASSPHRASE",
        "SSH_AUTH_SOCK",
        "SENTRY_DSN",
        "GITHUB_PAT",
    ],
)
def test_credential_names_are_secret(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "PATH",
        "HOME",
        "PWD",
        "OLDPWD",
        "KEYBOARD",
        "XKB_DEFAULT_KEYMAP",
        "TOKENIZERS_PARALLELISM",
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "XAUTHORITY",
        "DESKTOP_SESSION",
        "XDG_SESSION_TYPE",
        "DBUS_SESSION_BUS_ADDRESS",
        "PASSENGER_APP_ENV",
        "LANG",
        "VIRTUAL_ENV",
        "PYTHONPATH",
        "",
    ],
)
def test_ordinary_names_are_not_secret(name: str) -> None:
    assert not is_secret_name(name)


def test_explicit_and_env_secrets_are_redacted() -> None:
    redactor = Redactor(["configured-key-0001"], {"MY_TOKEN": "tok-value-42", "PATH": "/usr/bin"})
    text = "a configured-key-0001 b tok-value-42 c /usr/bin"
    assert redactor.redact(text) == f"a {REDACTED} b {REDACTED} c /usr/bin"
    assert redactor.secret_count == 2


def test_short_and_trivial_env_values_are_ignored() -> None:
    redactor = Redactor(env={"SOME_TOKEN": "abc", "USE_AUTH": "true", "X_KEY": "enabled"})
    assert redactor.secret_count == 0
    assert redactor.redact("abc true enabled") == "abc true enabled"


def test_a_secret_containing_another_is_masked_whole() -> None:
    redactor = Redactor(["abcdef", "abcdef-longer-secret"])
    assert redactor.redact("x abcdef-longer-secret y abcdef") == f"x {REDACTED} y {REDACTED}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"key={OPENAI_KEY}", f"key={REDACTED}"),
        ("sk-ant-api03-" + "Zz9_" * 10, REDACTED),
        (f"token: {GITHUB_TOKEN}.", f"token: {REDACTED}."),
        ("gho_" + "a" * 36, REDACTED),
        ("github_pat_11ABCDEFG0" + "x" * 40, REDACTED),
        ("xoxb-1234567890-abcdefghij", REDACTED),
        ("id AKIAIOSFODNN7EXAMPLE end", f"id {REDACTED} end"),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc", f"Authorization: Bearer {REDACTED}"),
        ("authorization: bearer abcdefghijklmnop1234", f"authorization: bearer {REDACTED}"),
        ("https://alice:s3cr3t@example.com/x", f"https://alice:{REDACTED}@example.com/x"),
        (
            "a\n-----BEGIN RSA PRIVATE KEY-----\nMIIE\nabc\n-----END RSA PRIVATE KEY-----\nb",
            f"a\n{REDACTED}\nb",
        ),
        ("cut -----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn", f"cut {REDACTED}"),
    ],
)
def test_token_shapes_are_masked(text: str, expected: str) -> None:
    assert Redactor().redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "task-runner-abcdefghijklmnopqrstuvwxyz",  # "sk-" inside a word
        "the ghp_ prefix alone",
        "bearer of bad news",
        "see https://example.com/a@b and user@host",
        "AKIA is a prefix; XAKIAIOSFODNN7EXAMPLE is not a key id",
        "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----",
        "",
    ],
)
def test_lookalikes_are_left_alone(text: str) -> None:
    redactor = Redactor()
    assert redactor.redact(text) is text


def test_json_escaped_lines_are_redacted() -> None:
    quoted = 'pa"ss\\word-123'
    redactor = Redactor([quoted, OPENAI_KEY])
    line = json.dumps({"text": f"{quoted} and {OPENAI_KEY}", "caf\u00e9": "ok"})
    redacted = redactor.redact(line)
    assert json.loads(redacted)["text"] == f"{REDACTED} and {REDACTED}"
    # Typical token characters survive JSON unchanged, so raw and encoded forms agree.
    assert json.dumps(OPENAI_KEY)[1:-1] == OPENAI_KEY


def test_clean_text_is_returned_as_is() -> None:
    text = "PASSED tests/test_x.py::test_y\n" * 1000
    assert Redactor(["some-secret-value"]).redact(text) is text


def stream_through(redactor: StreamRedactor, pieces: list[bytes]) -> list[bytes]:
    """What the redactor hands out for each piece, then for the final flush."""
    return [redactor.feed(piece) for piece in pieces] + [redactor.flush()]


def test_stream_masks_a_token_split_across_pieces() -> None:
    line = f"key={OPENAI_KEY} and {GITHUB_TOKEN}\n".encode()
    pieces = [line[:10], line[10:30], line[30:] + b"tail ", b"done"]
    out = stream_through(StreamRedactor(Redactor().redact), pieces)
    assert b"".join(out) == f"key={REDACTED} and {REDACTED}\ntail done".encode()
    assert out[:2] == [b"", b""]  # nothing is handed out before the line is whole


def test_stream_keeps_every_other_byte_as_it_was() -> None:
    binary = bytes(range(256)) + b"\xed\xa0\x80\xc3" + "caf\u00e9 \u20ac".encode()
    data = binary + f" {OPENAI_KEY}\n".encode() + binary
    redactor = StreamRedactor(Redactor().redact)
    out = b"".join(stream_through(redactor, [data[i : i + 7] for i in range(0, len(data), 7)]))
    assert out == binary + f" {REDACTED}\n".encode() + binary


def test_stream_without_newline_is_cut_at_whitespace() -> None:
    redactor = StreamRedactor(Redactor().redact, flush_at=100)
    words = b"word " * 30  # 150 bytes, no newline
    first = redactor.feed(words + OPENAI_KEY[:10].encode())
    assert first == words  # cut after the last whitespace, so the token is held whole
    rest = redactor.feed(OPENAI_KEY[10:].encode()) + redactor.flush()
    assert rest == REDACTED.encode()


def test_stream_without_any_whitespace_is_cut_at_the_limit() -> None:
    redactor = StreamRedactor(Redactor().redact, flush_at=100)
    assert redactor.feed(b"x" * 99) == b""
    assert redactor.feed(b"y" * 51) == b"x" * 99 + b"y" * 51
    assert redactor.flush() == b""


def test_stream_holds_a_private_key_until_its_end_line() -> None:
    key = b"-----BEGIN RSA PRIVATE KEY-----\nMIIE\nabcd\nefgh\n-----END RSA PRIVATE KEY-----\n"
    data = b"before\n" + key + b"after\n"
    pieces = [data[:40], data[40:60], data[60:]]  # the block spans three pieces
    out = stream_through(StreamRedactor(Redactor().redact), pieces)
    assert b"".join(out) == f"before\n{REDACTED}\nafter\n".encode()
    assert out[0] == b"before\n"


def test_stream_passes_clean_output_through() -> None:
    redactor = StreamRedactor(Redactor(["some-secret-value"]).redact)
    text = b"PASSED tests/test_x.py::test_y\n" * 1000
    assert redactor.feed(text) == text and redactor.flush() == b""
