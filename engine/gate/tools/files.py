"""Tools that create, change, move and delete files: rm and friends, cp, mv, ln, install, touch,
mkdir, tee, truncate, dd, chmod and chown, split, patch. Each judges the paths it changes where
they really point (``Analysis.write``/``delete``/``change``), and ``ln`` records the links it
makes so later writes through them are judged where they lead.
"""

from __future__ import annotations

import os
import re

from engine.gate.analysis import Invocation
from engine.gate.base import BOTH
from engine.gate.places import DEVICES
from engine.gate.tools.grammar import Handler, apply_grammar, grammar, parse_args
from engine.gate.walk import Walker
from engine.gate.words import Word, plain_word
from engine.paths import write_path_problem

__all__ = ["FILE_TOOLS"]

_PWD = re.compile(r"^(?:\$\(pwd\)|`pwd`|\$PWD|\$\{PWD\})(?=/|$)")
_SETUID = re.compile(r"^(?:[0-7]*[4-7][0-7]{3}|.*[+=][rwxXt]*s.*)$")  # 4755, u+s, g=s ...

RM = grammar(
    "fiIrRdv",
    "",
    "--force --recursive --dir --verbose --one-file-system "
    "--no-preserve-root --preserve-root --interactive",
    operands="delete*",
)
MV = grammar(
    "bfinuvTZ",
    "St",
    "--backup --force --interactive --no-clobber --strip-trailing-"
    "slashes --update --verbose --no-target-directory --context --exchange",
    "--suffix --target-directory",
    operands="data*",
)
CP = grammar(
    "aAbdfHilLnPprRsStTuvxZ",
    "St",
    "--archive --attributes-only --backup --copy-contents --force --interactive --link "
    "--dereference --no-clobber --no-dereference --preserve --no-preserve --parents --recursive "
    "--reflink --remove-destination --sparse --strip-trailing-slashes --symbolic-link "
    "--no-target-directory --update --verbose --one-file-system --context --debug",
    "--suffix --target-directory",
    operands="data*",
)
LN = grammar(
    "bdfFinLPrsTtvS",
    "St",
    "--backup --directory --force --interactive --logical "
    "--no-dereference --physical --relative --symbolic --no-target-directory --verbose",
    "--suffix --target-directory",
    operands="data*",
)
INSTALL = grammar(
    "bcCdDpsTvZ",
    "gmotS",
    "--backup --compare --directory --preserve-timestamps "
    "--strip --no-target-directory --verbose --preserve-context",
    "--group --mode --owner --target-directory --suffix --strip-program",
    means={"--strip-program": "run"},
    operands="data*",
)
TOUCH = grammar(
    "acfhm",
    "drt",
    "--no-create --no-dereference",
    "--date --reference --time",
    means={"-r": "read", "--reference": "read"},
    operands="data*",
)
MKDIR = grammar("pvZ", "m", "--parents --verbose --context", "--mode", operands="data*")
TEE = grammar("aip", "", "--append --ignore-interrupts --output-error", operands="data*")
TRUNCATE = grammar(
    "co",
    "rs",
    "--no-create --io-blocks",
    "--reference --size",
    means={"-r": "read", "--reference": "read"},
    operands="data*",
)
CHMOD = grammar(
    "cfvRHLP",
    "",
    "--changes --silent --quiet --verbose --recursive "
    "--no-preserve-root --preserve-root --dereference --no-dereference",
    "--reference",
    means={"--reference": "read"},
    operands="data*",
)
SPLIT = grammar("de", "abClnt", any_long=True, operands="read? data?")
PATCH = grammar(
    "bcEefFlnNRsStuvZ",
    "BdDgiopPrVxYzFl",
    any_long=True,
    means={
        "-i": "read",
        "--input": "read",
        "-o": "write",
        "--output": "write",
        "-r": "write",
        "--reject-file": "write",
    },
    operands="data*",
)


def _name(inv: Invocation) -> str:
    return inv.name


def rm(a: Walker, inv: Invocation) -> None:
    name = _name(inv)
    parsed = parse_args(
        inv.args, RM if name == "rm" else grammar("fuvxz", "ns", any_long=True, operands="delete*")
    )
    a.options(parsed.names)
    for option in parsed.unknown:
        a.add("high", f"{name}: option {option} not understood", held_by=BOTH)
    recursive = parsed.has("-r", "-R", "--recursive")
    label = f"{name} -r" if recursive else name
    if parsed.has("--no-preserve-root"):
        a.add("critical", f"{name} --no-preserve-root")
    if not parsed.operands:
        a.add("low", f"{name}: deletes nothing")
    for word in parsed.operands:
        if name == "shred" and any(_device(v) for v in word.values):
            a.add("critical", f"shred {word.text}: wipes a disk device")
        else:
            a.delete(word, label, recursive=recursive or name == "shred")


def rmdir(a: Walker, inv: Invocation) -> None:
    parsed = apply_grammar(
        a,
        inv,
        grammar("pv", "", "--parents --verbose --ignore-fail-on-non-empty", operands="data*"),
    )
    for word in parsed.operands:
        a.delete(word, "rmdir", recursive=False, empty_only=True)


def copy_move(a: Walker, inv: Invocation) -> None:
    """cp, mv, install: sources are read (mv: taken away), the destination is written."""
    name = _name(inv)
    g = {"mv": MV, "cp": CP, "install": INSTALL}[name]
    parsed = apply_grammar(a, inv, g)
    operands = parsed.operands
    target_dirs = parsed.values("-t", "--target-directory")
    if name == "install" and parsed.has("-d", "--directory"):
        destinations, sources = operands, []
    elif target_dirs:
        destinations, sources = target_dirs, operands
    elif len(operands) == 1 and name != "mv":
        destinations, sources = [plain_word(".")], operands
    else:
        destinations, sources = operands[-1:], operands[:-1]
    if not operands:
        a.add("low", f"{name}: copies nothing")
    for word in sources:
        if name == "mv":  # the source goes away from where it was
            a.write(word, "mv", follow_last=word.text.endswith("/"), verb="moves")
        else:
            a.read(word, name, bulk=parsed.has("-r", "-R", "-a", "--recursive", "--archive"))
    for word in destinations:
        a.write(word, name)
    if parsed.has("-s", "-l", "--link", "--symbolic-link") and name == "cp":
        _links(a, inv, parsed.options, sources, destinations, symbolic=parsed.has("-s"))
    if parsed.has("-o", "--owner", "-g", "--group"):
        a.add("high", f"{name}: sets the owner of what it installs", held_by=BOTH)


def ln(a: Walker, inv: Invocation) -> None:
    parsed = apply_grammar(a, inv, LN)
    operands = parsed.operands
    target_dirs = parsed.values("-t", "--target-directory")
    if target_dirs:
        destinations, sources = target_dirs, operands
    elif len(operands) == 1:
        destinations, sources = [plain_word(".")], operands
    else:
        destinations, sources = operands[-1:], operands[:-1]
    for word in destinations:
        a.write(word, "ln", follow_last=False)
    symbolic = parsed.has("-s", "--symbolic")
    relative = parsed.has("-r", "--relative")
    _links(a, inv, parsed.options, sources, destinations, symbolic=symbolic and not relative)


def _links(
    a: Walker,
    inv: Invocation,
    options: list[tuple[str, Word | None]],
    sources: list[Word],
    destinations: list[Word],
    *,
    symbolic: bool,
) -> None:
    """Record the links ``ln`` (or ``cp -s``/``-l``) makes: a link to a path outside the
    workspace (or to one agentd never writes) is high, and later writes through it are judged
    where it leads. ``symbolic``: the target is stored as written (read from the link's folder)."""
    if not destinations:
        return
    base = destinations[0]
    single = len(sources) == 1 and not any(n in ("-t", "--target-directory") for n, _ in options)
    if single and not base.text.endswith("/"):
        full = a.resolve(base)
        if full is None or not os.path.isdir(full):
            _link(a, inv.name, sources[0], base, symbolic)
            return
    for source in sources:
        leaf = source.text.rstrip("/").rsplit("/", 1)[-1]
        link_name = Word(
            f"{base.text}/{leaf}",
            (f"{base.values[0]}/{leaf}",),
            dynamic=base.dynamic or source.dynamic,
        )
        _link(a, inv.name, source, link_name, symbolic)


def _link(a: Walker, name: str, source: Word, link_name: Word, symbolic: bool) -> None:
    path = a.resolve(link_name, follow_last=False)
    text = source.text
    literal = source.literal
    if literal is not None and _PWD.match(text) is None:
        if symbolic and not literal.startswith(("/", "~")):
            target = (
                None
                if path is None
                else a.resolve(plain_word(f"{path.rpartition('/')[0]}/{literal}"))
            )
        else:
            target = a.resolve(source)
    elif literal is not None:
        target = a.resolve(plain_word(_PWD.sub(".", text)))
    else:
        target = None
    if target is None:
        a.add("unknown", f"{name}: link to a computed path {text!r}", held_by=BOTH)
    else:
        place = a.locator.classify(target, text)
        if place.kind in ("outside", "scratch"):
            a.add("high", f"{name}: link to {text} outside the workspace")
        elif (
            place.kind == "inside"
            and place.path != "."
            and (problem := write_path_problem(place.path))
        ):
            a.add("high", f"{name}: link to {text}: {problem}")
    if path is not None:
        a.locator.links[path] = target


def writer(a: Walker, inv: Invocation) -> None:
    """touch, mkdir, tee, truncate, mkfifo, fallocate, sponge: every operand is written."""
    name = _name(inv)
    g, verb = {
        "touch": (TOUCH, "touches"),
        "mkdir": (MKDIR, "creates"),
        "tee": (TEE, "writes"),
        "truncate": (TRUNCATE, "truncates"),
        "mkfifo": (grammar("Z", "m", any_long=True, operands="data*"), "creates"),
        "fallocate": (grammar("cdinpxvz", "lo", any_long=True, operands="data*"), "writes"),
        "sponge": (grammar("a", "", operands="data*"), "writes"),
    }[name]
    parsed = apply_grammar(a, inv, g)
    if parsed.has("-a", "--append") and name in ("tee", "sponge"):
        verb = "appends to"
    if not parsed.operands:
        a.add("low", f"{name}: changes no file")
    for word in parsed.operands:
        a.write(word, name, verb=verb)


def dd(a: Walker, inv: Invocation) -> None:
    a.add("medium", "dd: copies raw data")
    for word in inv.args:
        key, eq, value = word.text.partition("=")
        if not eq:
            a.add("high", f"dd: operand {word.text!r} not understood", held_by=BOTH)
            continue
        target = Word(value, tuple(v.partition("=")[2] for v in word.values), word.dynamic)
        if key == "of" and any(_device(v) for v in target.values):
            a.add("critical", f"dd writes to the disk device {value}")
        elif key == "of":
            a.write(target, "dd of=")
        elif key == "if":
            a.read(target, "dd if=")


def _device(path: str) -> bool:
    return DEVICES.match(path) is not None


def chmod(a: Walker, inv: Invocation) -> None:
    name = _name(inv)
    parsed = parse_args(inv.args, CHMOD)
    a.options(parsed.names)
    modes = [o for o in parsed.unknown if re.fullmatch(r"-[rwxXstugoa,=+-]+", o)]
    for option in set(parsed.unknown) - set(modes):
        a.add("high", f"{name}: option {option} not understood", held_by=BOTH)
    operands = parsed.operands
    if not parsed.has("--reference") and not modes:
        modes, operands = [w.text for w in operands[:1]], operands[1:]
    recursive = parsed.has("-R", "--recursive")
    if name == "chmod" and any(_SETUID.match(m) for m in modes):
        a.add("critical", f"chmod {' '.join(modes)}: sets a setuid or setgid bit (privilege)")
    if name in ("chown", "chgrp"):
        a.add("high", f"{name}: changes who owns files", held_by=BOTH)
    for word in operands:
        a.change(word, f"{name} -R" if recursive else name, root_ok=False)


def split(a: Walker, inv: Invocation) -> None:
    name = _name(inv)
    if name == "csplit":
        parsed = apply_grammar(a, inv, grammar("kszq", "bfn", any_long=True, operands="read data*"))
        prefix = (parsed.values("-f", "--prefix") or [plain_word("xx")])[0]
    else:
        parsed = apply_grammar(a, inv, SPLIT)
        prefix = parsed.operands[1] if len(parsed.operands) > 1 else plain_word("x")
    a.write(
        Word(f"{prefix.text}*", tuple(f"{v}*" for v in prefix.values), prefix.dynamic, glob=True),
        name,
    )


def patch(a: Walker, inv: Invocation) -> None:
    parsed = apply_grammar(a, inv, PATCH)
    if parsed.has("--dry-run"):
        a.add("low", "patch --dry-run: changes nothing")
        return
    if parsed.has("-e", "--ed"):
        a.add("high", "patch --ed: runs an ed script, which can run commands", held_by=BOTH)
    directory = parsed.values("-d", "--directory")
    for word in directory:
        a.write(word, "patch -d", verb="changes files in")
    if parsed.operands:
        a.write(parsed.operands[0], "patch")
        for word in parsed.operands[1:2]:
            a.read(word, "patch")
    else:
        a.add("medium", "patch: changes the files the patch names", changes=True, revertible=True)


def mknod(a: Walker, inv: Invocation) -> None:
    parsed = apply_grammar(a, inv, grammar("Z", "m", any_long=True, operands="data*"))
    kinds = [w.text for w in parsed.operands[1:2]]
    if kinds and kinds[0] != "p":
        a.add("critical", "mknod: creates a device node (direct access to hardware)")
    for word in parsed.operands[:1]:
        a.write(word, "mknod", verb="creates")


def mktemp(a: Walker, inv: Invocation) -> None:
    a.add("low", "mktemp: creates a new, uniquely named temporary file")
    parsed = apply_grammar(a, inv, grammar("dqtuV", "p", any_long=True, operands="data?"))
    for word in parsed.values("-p", "--tmpdir"):
        a.write(word, "mktemp -p", verb="creates a file in")


FILE_TOOLS: dict[str, Handler] = {
    **dict.fromkeys(("rm", "unlink", "shred"), rm),
    "rmdir": rmdir,
    **dict.fromkeys(("cp", "mv", "install"), copy_move),
    "ln": ln,
    **dict.fromkeys(("touch", "mkdir", "tee", "truncate", "mkfifo", "fallocate", "sponge"), writer),
    "dd": dd,
    **dict.fromkeys(("chmod", "chown", "chgrp"), chmod),
    **dict.fromkeys(("split", "csplit"), split),
    "patch": patch,
    "mknod": mknod,
    "mktemp": mktemp,
}
