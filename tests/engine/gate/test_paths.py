"""The gate on paths: writeFile steps, absolute paths, symbolic links on disk or made by the
script, reads of secret stores, and a workspace that is itself reached through a symbolic link.

Nothing here runs a command: the gate only reads the text.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.gate.rules import RuleGate, assess_command
from engine.models import WriteFileStep


def write_level(path: str, workspace: Path) -> str:
    step = WriteFileStep(kind="writeFile", path=path, content="x")
    return RuleGate().assess(step, workspace).risk.level


def assert_levels(levels: dict[str, str], workspace: Path) -> None:
    for cmd, level in levels.items():
        risk = assess_command(cmd, workspace)
        assert risk.level == level, (cmd, risk.reasons)


def test_absolute_paths_inside_the_workspace_are_inside(home_tmp: Path) -> None:
    assert_levels(
        {
            f"rm -rf {home_tmp}/build": "medium",
            f"echo x > {home_tmp}/out.txt": "medium",
            f"rm -rf {home_tmp}": "critical",
        },
        home_tmp,
    )


def test_write_file_paths(home_tmp: Path) -> None:
    assert write_level("out/hello.txt", home_tmp) == "low"
    assert write_level(".vscode/tasks.json", home_tmp) == "high"
    assert write_level(".github/workflows/ci.yml", home_tmp) == "high"
    assert write_level(".agent/policy.toml", home_tmp) == "high"
    assert write_level(".agent/goals.toml", home_tmp) == "high"
    for bad in ("/etc/passwd", "../escape.txt", ".git/config", ".GIT/hooks/x", "a/.bashrc"):
        assert write_level(bad, home_tmp) == "critical", bad


def test_write_file_through_a_symlink_out_of_the_workspace(home_tmp: Path) -> None:
    workspace = home_tmp / "ws"
    outside = home_tmp / "outside"
    workspace.mkdir()
    outside.mkdir()
    os.symlink(outside, workspace / "link")
    os.symlink(workspace / ".git", workspace / "sneaky")
    (workspace / ".git").mkdir()
    step = WriteFileStep(kind="writeFile", path="link/x.txt", content="x")
    verdict = RuleGate().assess(step, workspace)
    assert verdict.risk.level == "critical" and verdict.decision == "deny"
    assert "outside the workspace" in verdict.risk.reasons[0]
    assert write_level("sneaky/config", workspace) == "critical"


def test_link_and_secret_reasons(home_tmp: Path) -> None:
    first, *rest = assess_command("ln -sf /etc/passwd x && echo hi >> x", home_tmp).reasons
    assert first == (
        "redirect >> appends to x (a link to /etc/passwd): outside the workspace (critical)"
    )
    assert "ln: link to /etc/passwd outside the workspace (high)" in rest
    [secret, _] = assess_command("cat ~/.ssh/id_rsa", home_tmp).reasons
    assert secret == "cat reads secrets (~/.ssh) (high)"
    bulk = assess_command("tar czf - ~", home_tmp).reasons
    assert "tar reads secrets (~ includes ~/.ssh) (high)" in bulk


def test_commands_through_symlinks_on_disk(home_tmp: Path) -> None:
    workspace, outside = home_tmp / "ws", home_tmp / "outside"
    (outside / "sub").mkdir(parents=True)
    (workspace / ".git").mkdir(parents=True)
    os.symlink(outside, workspace / "dirlink")
    os.symlink(outside / "f.txt", workspace / "filelink")
    os.symlink(outside / "sub", workspace / "sublink")
    os.symlink(".git", workspace / "sneaky")
    os.symlink("out", workspace / "inner")
    os.symlink(workspace / "src", home_tmp / "into")  # a link outside leading inside
    assert_levels(
        {
            "echo x > dirlink/f.txt": "critical",
            "echo x >> filelink": "critical",
            "echo x > sublink/../f.txt": "critical",
            "cd dirlink && touch f.txt": "critical",
            "echo x > sneaky/config": "critical",
            "rm -rf dirlink/": "critical",
            "rm filelink": "high",  # removes the link, not what it points to
            "mv filelink other": "medium",  # renames the link
            "mv a.txt dirlink": "critical",
            "echo x > inner/f.txt": "medium",
            f"echo x > {home_tmp}/into/f.txt": "medium",  # really writes src/f.txt
        },
        workspace,
    )


@pytest.fixture
def linked_workspace(home_tmp: Path) -> tuple[Path, Path]:
    """(link, real): the workspace a client opened as ``links/proj``, really ``real/ws``; the
    two parents differ, so ``..`` names different directories lexically and physically."""
    real = home_tmp / "real" / "ws"
    (real / "src").mkdir(parents=True)
    (home_tmp / "links").mkdir()
    link = home_tmp / "links" / "proj"
    os.symlink(real, link)
    return link, real


def test_a_symlinked_workspace_keeps_its_files_inside(linked_workspace: tuple[Path, Path]) -> None:
    link, real = linked_workspace
    assert_levels(
        {
            "cat src/a.py": "low",
            "echo x > out.txt": "medium",
            "touch src/a.py": "medium",
            f"echo x > {link}/out.txt": "medium",
            f"echo x > {real}/out.txt": "medium",
            f"cd {link}/src && touch a.py": "medium",
            "echo x > ../ws/out.txt": "medium",  # from the real directory: still inside
            "rm -rf build": "medium",
            f"rm -rf {link}/build": "medium",
        },
        link,
    )
    assert write_level("src/a.py", link) == "low"


def test_a_symlinked_workspace_still_sees_escapes(linked_workspace: tuple[Path, Path]) -> None:
    link, real = linked_workspace
    assert_levels(
        {
            "echo x > ../out.txt": "critical",
            "echo x > ../proj/out.txt": "critical",  # lexically the link, really real/proj
            f"echo x > {link}/../out.txt": "critical",
            f"echo x > {real}/../out.txt": "critical",
            "cd .. && rm -rf ws": "critical",
            f"cd {link}/.. && touch x": "critical",
            f"rm -rf {link}": "critical",  # the link itself, outside the workspace
            f"rm -rf {link}/": "critical",  # the workspace root
            "mv a.txt ../../x.txt": "critical",
        },
        link,
    )
    assert write_level("../escape.txt", link) == "critical"
    reason = assess_command(f"rm -rf {link}/", link).reasons[0]
    assert reason == f"rm -r {link}/: targets the workspace root itself (critical)"
