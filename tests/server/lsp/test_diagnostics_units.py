"""Diagnostics from a run's output: which lines name a location, and only files in the workspace."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.lsp.diagnostics import LOCATION, source_diagnostics


@pytest.mark.parametrize(
    ("line", "path", "row", "col"),
    [
        ("src/a.py:3:1: boom", "src/a.py", "3", "1"),
        ("lib/x.c:10: error: bad", "lib/x.c", "10", None),
        ("/abs/p.py:7:2: E1 thing", "/abs/p.py", "7", "2"),
    ],
)
def test_output_locations(line: str, path: str, row: str, col: str | None) -> None:
    match = LOCATION.match(line)
    assert match is not None
    assert (match["path"], match["line"], match["col"]) == (path, row, col)


def test_no_location_in_plain_text() -> None:
    assert LOCATION.match("Running: 3 tests") is None
    assert LOCATION.match("  at 12:30: noon") is None


def test_source_diagnostics_stay_in_the_workspace(tmp_path: Path) -> None:
    from engine.models import Risk, StepResult

    (tmp_path / "a.py").write_text("x\n")
    out = "a.py:1: inside\n../outside.py:1: no\n/etc/hosts:1: no\n"
    failed = StepResult(
        id="s1", kind="runCli", cmd="lint", risk=Risk(level="low"), decision="allow",
        status="failed", stdout=out,
    )  # fmt: skip
    found = source_diagnostics(tmp_path, "r", [failed])
    assert list(found) == [(tmp_path / "a.py").as_uri()]
