"""The sandbox with real bubblewrap and real Landlock: for each protection, a step that tries to
break it and fails (harmless canaries in temp trees), as root too. Only where the kernel refuses
a sandbox is its test skipped, with the reason, and never in CI (AGENTD_CI=1)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.environment import step_environment
from engine.execute.process import ProcessResult, ProcessSpec
from engine.execute.runner import SubprocessRunner
from engine.execute.sandbox import (
    Plan,
    SandboxKind,
    Widening,
    in_effect,
    new_scratch,
    remove_scratch,
    support,
)
from tests.editors.requirements import require
from tests.procs import processes_running
from tests.server.agent_client import wait_until

KINDS: tuple[SandboxKind, ...] = ("bwrap", "landlock")


def available(kind: SandboxKind) -> None:
    found = support()
    reason = found.bwrap_problem if kind == "bwrap" else "this kernel has no Landlock"
    require(in_effect(kind) == kind, f"{kind} cannot be used here: {reason}")


@pytest.fixture
def scratch() -> Iterator[Path]:
    path = new_scratch(f"test-{os.getpid()}-{id(object())}")
    yield path
    remove_scratch(path)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    (ws / ".git" / "hooks").mkdir(parents=True)
    (ws / ".git" / "config").write_text("[core]\n")
    (ws / ".agent" / "runs").mkdir(parents=True)
    (ws / "src").mkdir()
    return ws


async def sandboxed(
    kind: SandboxKind,
    workspace: Path,
    scratch: Path,
    cmd: str,
    widenings: frozenset[Widening] = frozenset(),
    **changes: Any,
) -> ProcessResult:
    available(kind)
    env = step_environment(os.environ, overrides={"AGENTD_RUN_ID": "sandbox-test"})
    spec = ProcessSpec(
        argv=["/bin/sh", "-c", cmd],
        cwd=workspace,
        env=env,
        timeout_s=60,
        output_cap=1 << 16,
        spill_dir=scratch / "spill",
        spill_name="s1",
        kill_grace_s=0.5,
        sandbox=Plan(kind, workspace, scratch, widenings),
        **changes,
    )
    return await SubprocessRunner().run(spec)


@pytest.mark.parametrize("kind", KINDS)
async def test_the_workspace_is_writable_and_nothing_outside(
    kind: SandboxKind, workspace: Path, scratch: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    done = await sandboxed(kind, workspace, scratch, f"touch src/ok; touch {outside}/canary")
    assert (workspace / "src" / "ok").exists()
    assert not (outside / "canary").exists() and done.exit_code != 0
    home = await sandboxed(kind, workspace, scratch, f"touch {Path.home()}/.agentd-canary")
    assert not (Path.home() / ".agentd-canary").exists() and home.exit_code != 0


async def test_git_and_agent_are_read_only(workspace: Path, scratch: Path) -> None:
    cmd = "echo x >> .git/config; touch .git/new; touch .agent/runs/forged.jsonl; echo done"
    done = await sandboxed("bwrap", workspace, scratch, cmd)
    assert done.stdout == "done\n"
    assert (workspace / ".git" / "config").read_text() == "[core]\n"
    assert not (workspace / ".git" / "new").exists()
    assert not (workspace / ".agent" / "runs" / "forged.jsonl").exists()


async def test_git_write_widens_git_but_never_what_git_runs(workspace: Path, scratch: Path) -> None:
    cmd = "touch .git/new; echo x >> .git/config; touch .git/hooks/pre-commit; echo done"
    done = await sandboxed("bwrap", workspace, scratch, cmd, frozenset({"gitWrite"}))
    assert done.stdout == "done\n"
    assert (workspace / ".git" / "new").exists()  # objects, refs, the index: git's work
    assert (workspace / ".git" / "config").read_text() == "[core]\n"
    assert not (workspace / ".git" / "hooks" / "pre-commit").exists()


@pytest.mark.parametrize("kind", KINDS)
async def test_agentd_s_environment_is_out_of_reach(
    kind: SandboxKind, workspace: Path, scratch: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTD_TEST_API_KEY", "sk-canary-0123456789abcdef")  # a fake secret
    cmd = f"cat /proc/{os.getpid()}/environ; cat /proc/*/environ; env"
    done = await sandboxed(kind, workspace, scratch, cmd)
    assert "sk-canary" not in done.stdout + done.stderr


@pytest.mark.parametrize("kind", KINDS)
async def test_no_network_unless_approved(
    kind: SandboxKind, workspace: Path, scratch: Path
) -> None:
    if kind == "landlock" and support().landlock_abi < 4:
        require(False, "this kernel's Landlock has no network rules (ABI < 4)")
    connected: list[bool] = []

    async def listener(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connected.append(True)
        writer.close()

    server = await asyncio.start_server(listener, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    probe = f"python3 -c \"import socket; socket.create_connection(('127.0.0.1', {port}), 5)\""
    try:
        refused = await sandboxed(kind, workspace, scratch, probe)
        assert refused.exit_code != 0 and connected == []
        if kind == "bwrap":  # bwrap's network namespace: approved, it is the host's again
            allowed = await sandboxed(kind, workspace, scratch, probe, frozenset({"network"}))
            assert allowed.exit_code == 0 and connected == [True]
    finally:
        server.close()


@pytest.mark.parametrize("kind", KINDS)
async def test_secret_stores_are_hidden(
    kind: SandboxKind,
    workspace: Path,
    scratch: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519").write_text("FAKE-KEY-canary\n")
    (home / ".netrc").write_text("machine x login u password FAKE-NETRC-canary\n")
    monkeypatch.setenv("HOME", str(home))
    done = await sandboxed(kind, workspace, scratch, "cat ~/.ssh/id_ed25519 ~/.netrc")
    leaked = "canary" in done.stdout
    if kind == "bwrap":
        assert not leaked
    else:  # Landlock cannot hide files from reading: reported as a missing protection
        assert leaked


async def test_an_escapee_dies_with_its_step(workspace: Path, scratch: Path) -> None:
    cmd = "setsid sh -c 'exec sleep 300.21' </dev/null >/dev/null 2>&1 & sleep 0.3; echo left"
    done = await sandboxed("bwrap", workspace, scratch, cmd)
    assert done.stdout == "left\n"
    # The PID namespace dies with the step (the kernel kills what is left in it, moments after
    # its init process exits): the hang guard only bounds that moment.
    await wait_until(lambda: not processes_running("sleep", "300.21"), timeout=10)


async def test_capabilities_are_dropped_as_root(workspace: Path, scratch: Path) -> None:
    for kind in KINDS:
        done = await sandboxed(kind, workspace, scratch, "grep CapEff /proc/self/status")
        assert done.stdout.split() == ["CapEff:", "0000000000000000"], kind


async def test_the_scratch_folder_is_the_steps_tmp(workspace: Path, scratch: Path) -> None:
    await sandboxed("bwrap", workspace, scratch, "echo kept > /tmp/note")
    assert (scratch / "note").read_text() == "kept\n"
    done = await sandboxed("bwrap", workspace, scratch, "cat /tmp/note")
    assert done.stdout == "kept\n"  # the run's steps share it
