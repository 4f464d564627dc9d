"""Argument checks for commands that delete, write or fetch files (rm, chmod, cp/mv/tee..., ln,
dd, find, sed -i, tar, curl/wget, rsync/scp, sort -o, unzip) and for ``cd``, which moves where
relative paths point. Each adds findings to the Analysis; ``engine.gate.rules`` wires them up.
"""

from __future__ import annotations

import os
import re

from engine.gate.analysis import Analysis, home_path, option_values, split_args
from engine.gate.base import LEVEL_ORDER
from engine.gate.commands import DISK_DEVICE, RM_EVERYTHING, SED_RUNS, WRITERS
from engine.gate.shell import SimpleCommand, Word
from engine.paths import write_path_problem

_PWD = re.compile(r"^(?:\$\(pwd\)|`pwd`|\$PWD|\$\{PWD\})(?=/|$)")  # the current directory


def rm(a: Analysis, argv: list[Word], cmd: SimpleCommand, depth: int) -> None:
    name = argv[0].text.rsplit("/", 1)[-1]
    options, targets = split_args(argv[1:])
    recursive = any(
        o in ("--recursive", "-r") or (not o.startswith("--") and ("r" in o or "R" in o))
        for o in options
    )
    label = f"{name} -r" if recursive else name
    if "--no-preserve-root" in options:
        a.add("critical", f"{name} --no-preserve-root")
    if not targets:
        a.add("high", f"{label}: deletes files")
    for word in targets:
        # rm removes a link itself, but `rm -r link/` deletes what the link points to
        found = a.guard(word, label, follow_last=word.text.endswith(("/", "/.")))
        if found is None:
            continue
        where, rel = found
        if where == "sink":
            a.add("critical", f"{label} {word.text}: a device")
        elif recursive and word.text in RM_EVERYTHING:  # `*`, `./*`, `.*`
            folder = rel.rpartition("/")[0] or "the workspace root"
            a.add("critical", f"{label} {word.text}: deletes everything in {folder}")
        else:
            a.add("high", f"{label} deletes {rel} inside the workspace")


def chmod(a: Analysis, argv: list[Word], cmd: SimpleCommand, depth: int) -> None:
    name = argv[0].text.rsplit("/", 1)[-1]
    operands = [w for w in argv[1:] if not re.fullmatch(r"-[RvcfhHLP]+|--[a-z-]+(=.*)?", w.text)]
    a.add("high", f"{name}: changes permissions or ownership")
    for word in operands[1:]:  # the first operand is the mode or owner
        a.guard(word, name)


def writer(a: Analysis, argv: list[Word], cmd: SimpleCommand, depth: int) -> None:
    name = argv[0].text.rsplit("/", 1)[-1]
    last_only, value_opts = WRITERS[name]
    options, operands = split_args(argv[1:], value_opts)
    has_dir_opt = name in ("cp", "ln", "install", "mv")  # touch -t is a time stamp
    targets = option_values(argv[1:], ("-t", "--target-directory")) if has_dir_opt else []
    moved: list[Word] = []  # mv's sources disappear: the names themselves, links not followed
    if name == "mv":
        moved = operands if targets else operands[:-1]
        targets = targets or operands[-1:]
    elif name == "install" and {"-d", "--directory"} & set(options):
        targets = operands  # install -d makes every operand a directory
    elif not targets:
        if last_only and len(operands) == 1:
            targets = [Word(".")]  # cp/ln with one operand write into the current directory
        else:
            targets = operands[-1:] if last_only else operands
    if not targets and not moved:
        a.add("medium", f"{name}: changes files")
    for word in moved:
        a.write_target(word, name, follow_last=word.text.endswith("/"))
    for word in targets:
        a.write_target(word, name)


def link(a: Analysis, argv: list[Word], cmd: SimpleCommand, depth: int) -> None:
    """ln, and cp -s / cp -l: the link names are writes; a link to a path outside the workspace
    (or to one agentd never writes) is high, and later writes through the link in this script
    are judged where it points."""
    writer(a, argv, cmd, depth)
    name = argv[0].text.rsplit("/", 1)[-1]
    options, sources = split_args(argv[1:], WRITERS[name][1])
    short = set("".join(o[1:] for o in options if o[:1] == "-" and o[:2] != "--"))
    if name == "cp" and not ({"--link", "--symbolic-link"} & set(options) or {"s", "l"} & short):
        return
    # ln -s stores its target as written: a relative one is read from the link's directory
    symbolic = name == "ln" and ("s" in short or "--symbolic" in options)
    from_link_dir = symbolic and not ("r" in short or "--relative" in options)
    directory = option_values(argv[1:], ("-t", "--target-directory"))
    if not directory and len(sources) > 1:
        last, sources = sources[-1], sources[:-1]
        full = None if last.dynamic else a.resolve(last.text)
        if len(sources) > 1 or last.text.endswith("/") or (full and os.path.isdir(full)):
            directory = [last]
        else:
            _link(a, name, sources[0], last, from_link_dir)
            return
    base = directory[0] if directory else Word(".")
    for source in sources:
        leaf = source.text.rstrip("/").rsplit("/", 1)[-1]
        link_name = Word(f"{base.text}/{leaf}", base.dynamic or source.dynamic)
        _link(a, name, source, link_name, from_link_dir)


def _link(a: Analysis, name: str, source: Word, link_name: Word, from_link_dir: bool) -> None:
    path = None if link_name.dynamic else a.resolve(link_name.text, follow_last=False)
    text = source.text
    here = _PWD.sub(".", text)
    if here != text and "$" not in here and "`" not in here:
        target = a.resolve(here)  # `ln -s "$(pwd)/src" lib`: an absolute path to ./src
    elif source.dynamic and home_path(text) is None:
        target = None
    elif from_link_dir and home_path(text) is None and not text.startswith("/"):
        target = None if path is None else a.resolve(f"{path.rpartition('/')[0]}/{text}")
    else:
        target = a.resolve(text)
    if target is None:
        a.add("unknown", f"{name}: link to a computed path {text!r}")
    else:
        where, rel = a.locate(Word(target))
        problem = write_path_problem(rel) if where == "inside" and rel != "." else None
        if where == "outside":
            a.add("high", f"{name}: link to {text} outside the workspace")
        elif problem:
            a.add("high", f"{name}: link to {text}: {problem}")
    if path is not None:
        a.links[path] = target


def dd(a: Analysis, argv: list[Word], cmd: SimpleCommand, depth: int) -> None:
    a.add("medium", "dd: copies raw data")
    for word in argv[1:]:
        if word.text.startswith("of="):
            target = Word(word.text[3:], word.dynamic)
            if DISK_DEVICE.match(target.text):
                a.add("critical", f"dd writes to the disk device {target.text}")
            else:
                a.write_target(target, "dd of=")


def find(a: Analysis, argv: list[Word], cmd: SimpleCommand, depth: int) -> None:
    args = argv[1:]
    starts = []
    for word in args:
        if word.text.startswith(("-", "(", "!")):
            break
        starts.append(word)
    away = [w.text for w in starts if a.locate(w)[0] in ("outside", "computed")]
    texts = [w.text for w in args]
    mark = len(a.findings)
    a.add("low", "find: reads only")
    if "-delete" in texts:
        a.add(
            "critical" if away else "high", f"find -delete {' '.join(away) or 'in the workspace'}"
        )
    for flag in ("-fprint", "-fprint0", "-fprintf", "-fls"):
        for target in option_values(args, (flag,), exact=True):
            a.write_target(target, f"find {flag}")
    for index, text in enumerate(texts):
        if text in ("-exec", "-execdir", "-ok", "-okdir"):
            end = next((j for j in range(index + 1, len(texts)) if texts[j] in (";", "+")), None)
            a.command(args[index + 1 : end], cmd, depth)
    worst = max(LEVEL_ORDER[level] for level, _ in a.findings[mark:])
    if away and worst >= LEVEL_ORDER["medium"] and worst < LEVEL_ORDER["critical"]:
        a.add("critical", f"find changes files outside the workspace: {' '.join(away)}")


def sed(a: Analysis, argv: list[Word], cmd: SimpleCommand, depth: int) -> None:
    args = argv[1:]
    in_place = any(
        w.text.startswith("--in-place") or re.match(r"-[a-zA-Z]*i", w.text) for w in args
    )
    _, operands = split_args(args, frozenset({"-e", "-f", "--expression", "--file", "-l"}))
    scripts = option_values(args, ("-e", "--expression"))
    if not scripts and not option_values(args, ("-f", "--file")):
        scripts, operands = operands[:1], operands[1:]
    if any(SED_RUNS.search(w.text) for w in scripts):
        a.add("high", "sed script writes files or runs commands")
    if not in_place:
        a.add("low", "sed: reads only")
    for word in operands if in_place else ():
        a.write_target(word, "sed -i")


def tar(a: Analysis, argv: list[Word], cmd: SimpleCommand, depth: int) -> None:
    modes: set[str] = set()
    values: dict[str, Word] = {}
    pending: list[str] = []
    longs = {"--file": "f", "--directory": "C", "--extract": "x", "--get": "x", "--create": "c"}
    for index, word in enumerate(argv[1:]):
        text = word.text
        if pending:
            values[pending.pop(0)] = word
        elif text.startswith("--"):
            key, eq, value = text.partition("=")
            letter = longs.get(key, "P" if key == "--absolute-names" else "")
            modes.add(letter)
            if letter in ("f", "C"):
                values.update({letter: Word(value, word.dynamic)} if eq else {})
                pending += [] if eq else [letter]
        elif text.startswith("-") or index == 0:
            letters = text.lstrip("-")
            for pos, ch in enumerate(letters):
                modes.add(ch)
                if ch in "fC" and text.startswith("-") and letters[pos + 1 :]:
                    values[ch] = Word(letters[pos + 1 :], word.dynamic)
                    break
                if ch in "fC":
                    pending.append(ch)
    a.add("medium", "tar: packs or unpacks archives")
    if "P" in modes:
        a.add("high", "tar keeps absolute paths (-P)")
    if "x" in modes:
        a.write_target(values.get("C", Word(".")), "tar -x")
    if modes & {"c", "r", "u"} and "f" in values and values["f"].text != "-":
        a.write_target(values["f"], "tar -c")


def download(a: Analysis, argv: list[Word], cmd: SimpleCommand, depth: int) -> None:
    name = argv[0].text.rsplit("/", 1)[-1]
    a.add("high", f"{name}: uses the network")
    names = ("-o", "--output") if name == "curl" else ("-O", "--output-document", "-P", "-o")
    for target in option_values(argv[1:], names):
        if target.text != "-":
            a.write_target(target, f"{name} output")


def remote_copy(a: Analysis, argv: list[Word], cmd: SimpleCommand, depth: int) -> None:
    name = argv[0].text.rsplit("/", 1)[-1]
    a.add("high", f"{name}: copies files, possibly over the network")
    _, operands = split_args(argv[1:], frozenset({"-e", "-i", "-P", "-F", "-o", "-l", "-S"}))
    dest = operands[-1] if len(operands) > 1 else None
    if dest is not None and not re.match(r"[^/]*:", dest.text):
        a.write_target(dest, name)


def output_file(a: Analysis, argv: list[Word], cmd: SimpleCommand, depth: int) -> None:
    name = argv[0].text.rsplit("/", 1)[-1]
    a.add("low" if name == "sort" else "medium", f"{name}: reads or unpacks files")
    for target in option_values(argv[1:], ("-o", "--output") if name == "sort" else ("-d",)):
        a.write_target(target, f"{name} output")


def cd(a: Analysis, argv: list[Word], cmd: SimpleCommand, depth: int) -> None:
    _, operands = split_args(argv[1:])
    target = operands[0] if operands else Word("~")
    a.add("low", f"{argv[0].text}: changes directory")
    home = home_path(target.text)  # home: outside any workspace, so relative paths are too
    relative = not target.text.startswith("/")
    if home is None and (target.dynamic or target.text == "-" or (a.cwd is None and relative)):
        a.cwd = None
    else:
        # the shell's logical path: `cd link/..` is where it started
        path = os.path.normpath(home or os.path.join(a.cwd or "/", target.text))
        a.cwd = path if path.startswith(("/", "~")) else "/"  # `cd ~/..`: somewhere outside
