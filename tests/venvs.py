"""A project's own virtualenv in a test workspace, as projects keep it (`.venv`), with packages
copied in from the suite's environment: a sandboxed step cannot use the suite's venv when the
checkout is under /tmp (the sandbox's /tmp is private), and should not rely on it anyway."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement


def project_venv(workspace: Path, *distributions: str) -> Path:
    """``workspace/.venv`` with ``distributions`` (default: pytest), what they require, and
    their scripts (``bin/ruff``) copied in."""
    venv = workspace / ".venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    (site,) = venv.glob("lib/python3*/site-packages")
    todo, done = list(distributions or ("pytest",)), set()
    while todo:
        dist = metadata.distribution(todo.pop())
        if dist.name in done:
            continue
        done.add(dist.name)
        for file in dist.files or []:
            target = Path(os.path.normpath(site / file))  # a script: ../../../bin/ruff
            if target.is_relative_to(venv) and "__pycache__" not in file.parts:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(Path(str(file.locate())), target)
        for line in dist.requires or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return venv
