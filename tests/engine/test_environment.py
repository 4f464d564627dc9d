"""The step environment is an allow-list: whatever a variable is called, unless it is on the list
(or added by agent.envAllow) a step never sees it; and a listed one that looks like a credential
is left out too."""

from __future__ import annotations

import pytest

from engine.environment import step_environment

PARENT = {
    "PATH": "/usr/bin:/bin",
    "HOME": "/home/u",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "TERM": "xterm",
    "SSL_CERT_FILE": "/etc/ssl/cert.pem",
    "VIRTUAL_ENV": "/w/.venv",
    "https_proxy": "http://proxy:3128",
    "MY_TOOL_HOME": "/opt/tool",
}


@pytest.mark.parametrize(
    "name",
    [
        "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GITHUB_TOKEN", "GH_TOKEN", "CI_JOB_JWT",
        "CI_JOB_TOKEN", "DB_PW", "DB_PASSWORD", "PGPASSWORD", "MYSQL_PWD", "SLACK_WEBHOOK_URL",
        "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "NPM_TOKEN",
        "TWINE_PASSWORD", "DOCKER_AUTH_CONFIG", "SSH_AUTH_SOCK", "VAULT_TOKEN", "SENTRY_DSN",
        "DATABASE_URL", "KUBECONFIG", "GOOGLE_APPLICATION_CREDENTIALS", "AZURE_CLIENT_SECRET",
        "SOMETHING_NEW_NOBODY_LISTED",
    ],
)  # fmt: skip
def test_anything_not_on_the_list_never_reaches_a_step(name: str) -> None:
    env = step_environment(PARENT | {name: "value-of-something-0123456789"})
    assert name not in env
    assert set(env) == set(PARENT) - {"MY_TOOL_HOME"}


def test_listed_variables_pass_and_agentd_s_own_are_set() -> None:
    env = step_environment(PARENT, overrides={"AGENTD_RUN_ID": "r1", "TMPDIR": "/tmp"})
    assert env["PATH"] == "/usr/bin:/bin" and env["LC_ALL"] == "C.UTF-8"
    assert (env["AGENTD_RUN_ID"], env["TMPDIR"]) == ("r1", "/tmp")


def test_a_proxy_with_a_password_is_left_out() -> None:
    env = step_environment(PARENT | {"https_proxy": "http://me:s3cret@proxy:3128"})
    assert "https_proxy" not in env


def test_code_running_variables_never_pass_even_when_asked_for() -> None:
    parent = PARENT | {"BASH_ENV": "/tmp/x", "ENV": "/tmp/y", "CDPATH": "/", "LD_PRELOAD": "x"}
    env = step_environment(parent, extra=["BASH_ENV", "ENV", "CDPATH", "LD_PRELOAD"])
    assert not {"BASH_ENV", "ENV", "CDPATH", "LD_PRELOAD"} & set(env)


def test_the_user_may_add_names_and_prefixes_but_not_secrets() -> None:
    parent = PARENT | {"ACME_A": "1", "ACME_B": "2", "ACME_TOKEN": "t0123456789"}
    env = step_environment(parent, extra=["MY_TOOL_HOME", "ACME_*"])
    assert env["MY_TOOL_HOME"] == "/opt/tool" and env["ACME_A"] == "1" and env["ACME_B"] == "2"
    assert "ACME_TOKEN" not in env
