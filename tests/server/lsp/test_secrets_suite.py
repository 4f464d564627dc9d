"""Secrets, table-driven, through a real server whose environment holds a fake secret of every
family. Each row is a way a step tries to get one out; the secret must appear nowhere (the result,
every notification, the trace, spill files), except where the table says redaction cannot catch
it (a secret the step could read from a file, transformed a way no mask recognises): those rows
pin down what docs/security.md says redaction can and cannot do.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp

from tests.server.agent_client import AgentClient, call, capabilities, config, initialize, step

pytestmark = pytest.mark.asyncio(loop_scope="module")

FAMILIES = {  # one fake secret per variable-name family, in the server's environment
    "OPENAI_API_KEY": "sk-fakekey-0123456789abcdefghijKLMNOP",
    "CI_JOB_JWT": "eyJhbGciOiJIUzI1NiJ9.fake-jwt-0123456789",
    "DB_PW": "fake-db-password-0123456789",
    "SLACK_WEBHOOK_URL": "https://hooks.example/services/FAKE0123456789",
    "GITHUB_TOKEN": "ghp_FAKE0123456789abcdefghijklmnopqrstuv",
    "AWS_SECRET_ACCESS_KEY": "fakeAWSsecret0123456789abcdefghijklmnop",
    "NPM_TOKEN": "npm_FAKE0123456789abcdefghijklmnopqrst",
    "DATABASE_URL": "postgres://app:fakepw0123456789@db.example/app",
    "SOME_NEW_VARIABLE": "an-unlisted-value-0123456789",
}
MODEL_KEY = FAMILIES["OPENAI_API_KEY"]

# (command, what may leak): "nothing", or the documented limit of redaction it demonstrates.
REACH = [  # agentd's own environment: out of the step's reach
    "cat /proc/$PPID/environ",
    "cat /proc/*/environ",
    "for p in /proc/[0-9]*; do cat $p/environ; done | rev",
    "od -c /proc/1/environ",
    "base64 /proc/*/environ",
    "env; set",
    'printf "%s" "$OPENAI_API_KEY $CI_JOB_JWT $DB_PW $SLACK_WEBHOOK_URL $SOME_NEW_VARIABLE" | rev',
]
FILE = [  # a secret the step can read (the model key, in a workspace file): redaction's part
    ("cat .env", "nothing"),
    ("rev .env", "nothing"),
    ("base64 .env", "nothing"),
    ("printf 'KEY=' ; base64 .env | base64 -d", "nothing"),
    ('printf %s "$(head -c 20 .env)"; sleep 0.3; tail -c +21 .env', "nothing"),
    ("head -c 8190 /dev/zero | tr '\\0' x; cat .env", "nothing"),
    ("fold -w4 .env", "folded: fold -w4 cuts it into 4-character lines"),
    ("xxd .env", "hex: a hex dump is not recognised"),
]


@pytest_lsp.fixture(config=config(**FAMILIES), scope="module")
async def leaky(
    lsp_client: AgentClient, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[None]:
    # The model key also as a setting: agentd holds it in memory, where no step may reach it.
    options = {"agent": {"apiKey": MODEL_KEY}}
    await initialize(
        lsp_client, capabilities("neovim"), tmp_path_factory.mktemp("secrets"), options
    )
    yield
    await lsp_client.shutdown_session()


def everything_seen(client: AgentClient, result: dict[str, Any], workspace: Path) -> str:
    """All the run left: its result, every notification of it, its trace and spill files."""
    run_id = result["runId"]
    notes = [str(n) for _, n in client.arrivals if n.get("runId") == run_id]
    files = [
        p.read_text(errors="replace")
        for p in (workspace / ".agent" / "runs").rglob("*")
        if p.is_file()
    ]
    return "\n".join([str(result), *notes, *files])


def forms(secret: str) -> list[str]:
    """The secret as a step could print it: as is, reversed, base64, and a long middle piece."""
    return [secret, secret[::-1], base64.b64encode(secret.encode()).decode()[4:-4], secret[6:-6]]


@pytest.mark.parametrize("cmd", REACH)
async def test_agentd_s_secrets_are_out_of_reach(
    leaky: AgentClient, tmp_path: Path, cmd: str
) -> None:
    params = {"workspace": str(tmp_path), "steps": [step(cmd)], "approval": "allow"}
    result = await call(leaky, "agent/runGoal", params)
    seen = everything_seen(leaky, result, tmp_path)
    for name, secret in FAMILIES.items():
        for form in forms(secret):
            assert form not in seen, (name, form)


@pytest.mark.parametrize(("cmd", "leaks"), FILE)
async def test_what_redaction_catches_and_what_it_cannot(
    leaky: AgentClient, tmp_path: Path, cmd: str, leaks: str
) -> None:
    (tmp_path / ".env").write_text(MODEL_KEY + "\n")
    params = {"workspace": str(tmp_path), "steps": [step(cmd)], "approval": "allow"}
    result = await call(leaky, "agent/runGoal", params)
    seen = everything_seen(leaky, result, tmp_path)
    assert MODEL_KEY not in seen and MODEL_KEY[::-1] not in seen  # never whole, never reversed
    if leaks == "nothing":
        assert "[REDACTED]" in seen
    elif leaks.startswith("folded"):
        assert MODEL_KEY[:4] in seen and MODEL_KEY[4:8] in seen  # in pieces: documented
    else:
        assert MODEL_KEY.encode().hex()[:8] in seen.replace(" ", "")  # a hex dump: documented
