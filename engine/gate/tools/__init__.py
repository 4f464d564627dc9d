"""The table of known tools: each name maps to a check that reads its arguments (its grammar)
and records findings. A tool not in the table is ``high`` (``unrecognised command``): the gate
rates ``low`` only what it understands completely.

Where each kind of tool lives: ``readers`` (print and read), ``files`` (create, change, delete),
``archives``, ``scripts`` (sed, awk), ``find``, ``wrappers`` (env, sudo, xargs ... and commands
that detach), ``builtins`` (cd, eval, source, alias ...), ``code`` (shells, interpreters),
``projects`` (builders, test runners, linters, formatters), ``packages`` and ``toolchains``
(package managers),
``git``, ``system`` (processes, machine, disks, accounts, network clients).
"""

from __future__ import annotations

import os
import shutil
from functools import lru_cache

from engine.gate.analysis import Invocation
from engine.gate.base import BOTH
from engine.gate.tools.archives import ARCHIVE_TOOLS, DECOMPRESSING_READERS
from engine.gate.tools.builtins import BUILTINS
from engine.gate.tools.code import CODE_TOOLS, PYTHON, python
from engine.gate.tools.files import FILE_TOOLS
from engine.gate.tools.find import FIND_TOOLS
from engine.gate.tools.git import git
from engine.gate.tools.grammar import Handler, table_tool
from engine.gate.tools.packages import PACKAGE_TOOLS
from engine.gate.tools.project_list import PROJECT_TOOLS
from engine.gate.tools.readers import PAGERS, READERS
from engine.gate.tools.scripts import SCRIPT_TOOLS
from engine.gate.tools.system import SYSTEM_TOOLS, disk
from engine.gate.tools.toolchains import TOOLCHAINS
from engine.gate.tools.wrappers import WRAPPERS
from engine.gate.walk import Walker

__all__ = ["TOOLS", "is_command", "judge"]

TOOLS: dict[str, Handler] = {
    **{name: table_tool(tool) for name, tool in READERS.items()},
    **{name: table_tool(READERS["cat"]) for name in DECOMPRESSING_READERS},
    **PAGERS,
    **FILE_TOOLS,
    **ARCHIVE_TOOLS,
    **SCRIPT_TOOLS,
    **FIND_TOOLS,
    **WRAPPERS,
    **CODE_TOOLS,
    **PROJECT_TOOLS,
    **PACKAGE_TOOLS,
    **TOOLCHAINS,
    **SYSTEM_TOOLS,
    **BUILTINS,
    "git": git,
}
# Project tools a workspace installs for itself (`.venv/bin/pytest`, `node_modules/.bin/tsc`):
# named by their path there, they are judged as the tool.
INSTALLABLE = frozenset(PROJECT_TOOLS) | frozenset(PACKAGE_TOOLS) | frozenset(TOOLCHAINS)
# Where programs named by an absolute path are the system's own (so `/usr/bin/rm` is rm).
SYSTEM_BINS = ("/bin/", "/sbin/", "/usr/bin/", "/usr/sbin/", "/usr/local/bin/", "/usr/local/sbin/")
# Folders inside a workspace that hold its own installed tools: a virtual environment's bin
# (next to its pyvenv.cfg) and node_modules/.bin.


def handler(name: str) -> Handler | None:
    found = TOOLS.get(name)
    if found is not None:
        return found
    if PYTHON.fullmatch(name):
        return python
    if name.startswith("mkfs"):
        return disk
    return None


@lru_cache(maxsize=512)
def _on_path(name: str) -> bool:
    return shutil.which(name) is not None


def is_command(name: str) -> bool:
    """Whether ``name`` is a program or builtin (so a shell function of that name shadows it)."""
    return handler(name) is not None or _on_path(name)


def judge(a: Walker, inv: Invocation) -> None:
    """Judge one command whose name is a literal word."""
    program = inv.argv[0].literal or ""
    name = inv.name
    _record_options(a, inv)
    check = handler(name)
    if "/" in program and not program.startswith(SYSTEM_BINS):
        places = a.places(inv.argv[0], follow_last=False)
        inside = all(p.kind == "inside" for p in places)
        installed = inside and all(_tool_folder(a.locator.root, p.path) for p in places)
        if not (installed and (name in INSTALLABLE or PYTHON.fullmatch(name))):
            where = "in the workspace" if inside else "outside the workspace"
            a.add(
                "high",
                f"runs {program}, a program {where} the gate does not read",
                held_by=BOTH,
                changes=True,
            )
            return
    if check is None:
        a.add("high", f"unrecognised command {name!r}", held_by=BOTH, changes=True)
        return
    check(a, inv)


def _tool_folder(root: str, rel: str) -> bool:
    """``rel`` is in the folder where a virtual environment or node_modules installs programs."""
    folder = rel.rpartition("/")[0]
    if folder.endswith("node_modules/.bin"):
        return True
    parent = folder.removesuffix("/bin")
    return parent != folder and (
        parent.rpartition("/")[2] in (".venv", "venv", "env", ".env")
        or os.path.isfile(f"{root}/{parent}/pyvenv.cfg")
    )


def _record_options(a: Walker, inv: Invocation) -> None:
    """Options as written, for policy rules: long ones without a value, short clusters split."""
    found: set[str] = set()
    for word in inv.args:
        text = word.literal
        if text is None or not text.startswith("-") or text in ("-", "--"):
            continue
        if text.startswith("--"):
            found.add(text.partition("=")[0])
        else:
            found |= {f"-{c}" for c in text[1:] if c.isalnum()}
    a.options(found)
