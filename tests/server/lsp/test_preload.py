"""The server imports the engine in a thread after `initialize`, with everything a first run needs:
a run started afterwards imports nothing more on the event loop (where an import would hold up
every session). Checked in a fresh interpreter, on the modules a first run loads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import asyncio, json, sys
from pathlib import Path
from server.lsp.server import _import_methods
from engine.config import EngineConfig
from engine.engine import Engine
from engine.models import RunGoalParams

_import_methods()
before = set(sys.modules)

async def main():
    engine = Engine(EngineConfig(sandbox="auto"))
    for params in ({"steps": [{"kind": "runCli", "cmd": "echo hi > out.txt"}]},
                   {"goal": "demo.test"}, {"goal": "swe.status"}):
        params = RunGoalParams.model_validate(params)
        await engine.start(params, workspace=Path(sys.argv[1])).result()

asyncio.run(main())
print(json.dumps(sorted(m for m in set(sys.modules) - before if not m.startswith("encodings"))))
"""


def test_a_first_run_imports_nothing_more(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)  # for swe.status
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[3],
    )
    assert json.loads(done.stdout.splitlines()[-1]) == [], done.stderr[-2000:]
