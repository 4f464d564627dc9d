"""Properties of the gate, over generated command lines (hypothesis):

- it never crashes, whatever the text;
- it never rates a command ``low`` or ``medium`` when any reachable part of it deletes
  something outside the workspace (however that part is nested, wrapped or hidden);
- its verdict does not change under comments, redundant quotes, ``command``/``env``/``\\``
  prefixes and extra whitespace.

Nothing here runs a command: the gate only reads the text.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from engine.gate.base import GateContext
from engine.gate.rules import RuleGate
from engine.models import RunCliStep

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
GATES = (RuleGate(), RuleGate(GateContext(sandbox="bwrap")))


@dataclass(frozen=True)
class Atom:
    """A simple command as words (already shell-quoted), and whether it deletes outside."""

    words: tuple[str, ...]
    deletes_outside: bool = False
    external: bool = True  # a program (not a builtin): `env`/`command` prefixes keep it


SAFE = [
    Atom(("ls",)),
    Atom(("ls", "-la", "src")),
    Atom(("echo", "hi")),
    Atom(("cat", "README.md")),
    Atom(("grep", "-n", "x", "a.txt")),
    Atom(("pwd",), external=False),
    Atom(("true",), external=False),
    Atom(("git", "status")),
    Atom(("rm", "-rf", "build")),
    Atom(("touch", "out/a.txt")),
    Atom(("mkdir", "-p", "out")),
    Atom(("wc", "-l", "a.txt")),
    Atom(("sort", "a.txt")),
    Atom(("pytest", "-q")),
    Atom(("make",)),
    Atom(("cp", "a.txt", "b.txt")),
    Atom(("sed", "'s/a/b/'", "a.txt")),
    Atom(("frobnicate",)),
    Atom(("curl", "https://example.com")),
]
DANGER = [
    Atom(("rm", "-rf", "/"), True),
    Atom(("rm", "-rf", "~"), True),
    Atom(("rm", "-rf", "/etc"), True),
    Atom(("rm", "-r", "../x"), True),
    Atom(("rm", "-rf", "$HOME/x"), True),
    Atom(("rm", "-rf", "'/usr/lib'"), True),
    Atom(("rm", "-rf", "{build,/srv}"), True),
    Atom(("find", "/", "-delete"), True),
    Atom(("unlink", "/etc/hosts"), True),
    Atom(("shred", "-u", "~/.bashrc"), True),
    Atom(("rmdir", "/srv/x"), True),
    Atom(("mv", "/etc/hosts", "x"), True),
    Atom(("git", "-C", "~", "clean", "-fdx"), True),
    Atom(("rsync", "-a", "--delete", "src/", "~/x/"), True),
    Atom(("find", "~", "-name", "'*.txt'", "-exec", "rm", "{}", "+"), True),
]


def atoms() -> st.SearchStrategy[Atom]:
    return st.sampled_from(SAFE + DANGER)


@dataclass(frozen=True)
class Node:
    """A generated command line: a template with holes for its parts."""

    template: str  # with {0}, {1} for the parts
    parts: tuple[Node | Atom, ...]

    @property
    def deletes_outside(self) -> bool:
        return any(p.deletes_outside for p in self.parts)


def _q(text: str) -> str:
    return shlex.quote(text)


COMBINATORS = [
    ("{0}; {1}", 2),
    ("{0} && {1}", 2),
    ("{0} || {1}", 2),
    ("{0} | {1}", 2),
    ("{0} & {1}", 2),
    ("( {0} )", 1),
    ("{{ {0}; }}", 1),
    ("if {0}; then {1}; fi", 2),
    ("if true; then {0}; else {1}; fi", 2),
    ("for i in 1 2; do {0}; done", 1),
    ("while false; do {0}; done", 1),
    ("echo $({0})", 1),
    ("cat <({0})", 1),
    ("f1() {{ {0}; }}; f1", 1),
    ("f2() {{ {0}; }}", 1),
    ("sh -c QUOTE0", 1),
    ("bash -c QUOTE0", 1),
    ("eval QUOTE0", 1),
    ("sh <<'E'\n{0}\nE\n", 1),
]
WRAPPERS = ["timeout 5 {0}", "nohup {0}", "sudo {0}", "echo x | xargs {0}"]  # commands only


def nodes() -> st.SearchStrategy[Node | Atom]:
    def extend(children: st.SearchStrategy[Node | Atom]) -> st.SearchStrategy[Node | Atom]:
        combined = st.sampled_from(COMBINATORS).flatmap(
            lambda combinator: st.tuples(*[children] * combinator[1]).map(
                lambda parts: Node(combinator[0], parts)
            )
        )
        wrapped = st.tuples(st.sampled_from(WRAPPERS), atoms()).map(
            lambda pair: Node(pair[0], (pair[1],))
        )
        return st.one_of(combined, wrapped)

    return st.recursive(atoms(), extend, max_leaves=6)


@dataclass(frozen=True)
class Style:
    """Ways of writing the same command."""

    spaces: str = " "
    quote_names: str = ""  # "" or a quote character around command names
    prefix: str = ""  # "", "command ", "env ", "\\"
    comment: bool = False


def render(node: Node | Atom, style: Style) -> str:
    if isinstance(node, Atom):
        name, *args = node.words
        if style.quote_names and name.isalnum():
            name = f"{style.quote_names}{name}{style.quote_names}"
        prefix = style.prefix if node.external and name.strip("'\"").isalnum() else ""
        if prefix == "\\" and style.quote_names:
            prefix = ""
        return style.spaces.join([prefix + name, *args])
    text = node.template
    for index, part in enumerate(node.parts):
        rendered = render(part, style)
        if "<<'E'" in text and "\nE\n" in f"\n{rendered}\n":
            rendered = rendered.replace("\nE\n", "\nE \n")
        text = text.replace(f"QUOTE{index}", _q(rendered)).replace(f"{{{index}}}", rendered)
    return text.replace("{{", "{").replace("}}", "}")


def full(node: Node | Atom, style: Style) -> str:
    text = render(node, style)
    return f"{text}\n# a comment with rm -rf / in it" if style.comment else text


def verdicts(cmd: str, workspace: Path) -> list[tuple[str, str]]:
    step = RunCliStep.model_construct(kind="runCli", cmd=cmd)
    found: list[tuple[str, str]] = []
    for gate in GATES:
        verdict = gate.assess(step, workspace)
        found.append((verdict.risk.level, verdict.decision))
    return found


@SETTINGS
@given(text=st.text(max_size=200))
def test_never_crashes(text: str, workspace: Path) -> None:
    step = RunCliStep.model_construct(kind="runCli", cmd=text)
    for gate in GATES:
        verdict = gate.assess(step, workspace)
        assert verdict.risk.level in ("low", "medium", "high", "critical", "unknown")
        assert verdict.decision in ("allow", "ask", "deny") and verdict.risk.reasons


@SETTINGS
@given(text=st.text(alphabet=st.sampled_from(list("rm -f/~$(){};|&<>'\"`\\\n#*?[]=.x")),
                    max_size=60))  # fmt: skip
def test_never_crashes_on_shell_soup(text: str, workspace: Path) -> None:
    for level, decision in verdicts(text, workspace):
        assert level in ("low", "medium", "high", "critical", "unknown") and decision


@SETTINGS
@given(node=nodes())
def test_deleting_outside_is_never_low_or_medium(node: Node | Atom, workspace: Path) -> None:
    cmd = full(node, Style())
    for level, decision in verdicts(cmd, workspace):
        if node.deletes_outside:
            assert level in ("high", "unknown", "critical"), cmd
            assert decision != "allow" or level == "high", cmd


@SETTINGS
@given(
    node=nodes(),
    style=st.builds(
        Style,
        spaces=st.sampled_from([" ", "  ", "\t", " \\\n "]),
        quote_names=st.sampled_from(["", "'", '"']),
        prefix=st.sampled_from(["", "command ", "env ", "\\"]),
        comment=st.booleans(),
    ),
)
def test_stable_under_comments_quotes_prefixes_and_whitespace(
    node: Node | Atom, style: Style, workspace: Path
) -> None:
    plain = verdicts(full(node, Style()), workspace)
    styled = verdicts(full(node, style), workspace)
    assert styled == plain, (full(node, Style()), full(node, style))
