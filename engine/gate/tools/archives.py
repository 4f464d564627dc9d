"""Archivers and compressors: tar, zip, unzip, 7z, cpio, ar, and the gzip family (which replace
their operands). Unpacking writes wherever the archive's entries say (links, ``../`` names), which
only the kernel sees when it happens: at least ``high``, contained by a sandbox. Options that
run programs (``--checkpoint-action=exec``, ``--to-command``, ``-I``, ``zip -TT``) are judged as
running them.
"""

from __future__ import annotations

from engine.gate.analysis import Invocation
from engine.gate.base import BOTH, names
from engine.gate.tools.grammar import Handler, apply_grammar, grammar, parse_args
from engine.gate.walk import Walker
from engine.gate.words import Word, plain_word

__all__ = ["ARCHIVE_TOOLS", "COMPRESSORS", "DECOMPRESSING_READERS"]

_TAR_VALUES = "fCTXbgIFKLNVH"
TAR = grammar(
    "AcdrtuxzjJZavkmopPhlSWwGOBiMUnsR",
    _TAR_VALUES,
    "--create --extract --get --list --append --update --catenate --concatenate --diff "
    "--compare --delete --gzip --gunzip --bzip2 --xz --lzip --lzma --lzop --zstd --compress "
    "--uncompress --auto-compress --verbose --keep-old-files --keep-newer-files "
    "--skip-old-files --overwrite --overwrite-dir --unlink-first --recursive-unlink "
    "--no-same-owner --same-owner --no-same-permissions --same-permissions --preserve-permissions "
    "--numeric-owner --touch --absolute-names --dereference --hard-dereference --sparse "
    "--verify --to-stdout --remove-files --ignore-zeros --ignore-failed-read --wildcards "
    "--no-wildcards --anchored --no-anchored --recursion --no-recursion --one-file-system "
    "--totals --show-transformed-names --strip-components --exclude-vcs --exclude-vcs-ignores "
    "--exclude-backups --exclude-caches --null --check-links --full-time --utc --xattrs "
    "--no-xattrs --acls --no-acls --selinux --no-selinux --delay-directory-restore "
    "--warning --quiet --interactive --confirmation --checkpoint --posix --format",
    "--file --directory --files-from --exclude-from --exclude --blocking-factor "
    "--listed-incremental --use-compress-program --info-script --new-volume-script "
    "--to-command --checkpoint-action --rsh-command --index-file --transform --xform "
    "--owner --group --mode --mtime --newer --newer-mtime --after-date --label --suffix "
    "--backup --strip-components --exclude-tag --exclude-tag-under --exclude-tag-all "
    "--volno-file --tape-length --record-size --sort --occurrence --level",
    means={
        "-T": "read",
        "--files-from": "read",
        "-X": "read",
        "--exclude-from": "read",
        "-I": "run",
        "--use-compress-program": "run",
        "-F": "run",
        "--info-script": "run",
        "--new-volume-script": "run",
        "--to-command": "run",
        "--rsh-command": "run",
        "--index-file": "write",
        "-g": "write",
        "--listed-incremental": "write",
        "--volno-file": "write",
    },
    operands="data*",
)
_TAR_MODES = {
    "--create": "c",
    "--extract": "x",
    "--get": "x",
    "--list": "t",
    "--append": "r",
    "--update": "u",
    "--catenate": "A",
    "--concatenate": "A",
    "--diff": "d",
    "--compare": "d",
    "--delete": "D",
}


def _old_style(args: list[Word]) -> list[Word]:
    """``tar czf out.tgz src`` (letters without a dash, values in order after them) as
    ``-c -z -f out.tgz src``."""
    first = args[0].literal if args else None
    if first is None or first.startswith("-"):
        return args
    out: list[Word] = []
    rest = args[1:]
    for letter in first:
        out.append(plain_word(f"-{letter}"))
        if letter in _TAR_VALUES and rest:
            out.append(rest.pop(0))
    return out + rest


def tar(a: Walker, inv: Invocation) -> None:
    args = _old_style(inv.args)
    parsed = apply_grammar(a, inv.shifted([inv.argv[0], *args]), TAR)
    modes = {name[1] for name in parsed.names if len(name) == 2}
    modes |= {_TAR_MODES[n] for n in parsed.names if n in _TAR_MODES}
    a.add("medium", "tar: packs or unpacks archives")
    for spec in parsed.values("--checkpoint-action"):
        if spec.text.startswith(("exec=", "exec")) or spec.dynamic:
            a.add("high", "tar --checkpoint-action=exec runs a command", held_by=BOTH)
            a.script(spec.text.partition("=")[2], "tar --checkpoint-action")
    if parsed.has("-P", "--absolute-names"):
        a.add("high", "tar --absolute-names: writes or reads paths outside the folder given")
    directory = (parsed.values("-C", "--directory") or [plain_word(".")])[-1]
    archives = parsed.values("-f", "--file")
    archive = archives[-1] if archives else None
    if "x" in modes:
        a.write(directory, "tar -x", verb="unpacks into")
        a.add(
            "high",
            "tar -x: the archive's entries (links, ../ names) decide where files land",
            held_by=BOTH,
            changes=True,
        )
        if archive is not None and archive.text != "-":
            a.read(archive, "tar -x")
    if modes & {"c", "r", "u", "A", "D"}:
        if archive is not None and archive.text != "-":
            a.write(archive, "tar")
        for word in parsed.operands:
            a.read(word, "tar", bulk=True)
        if parsed.has("--remove-files"):
            for word in parsed.operands:
                a.delete(word, "tar --remove-files", recursive=True)
    elif modes & {"t", "d"} and archive is not None and archive.text != "-":
        a.read(archive, "tar")
    if not modes & {"c", "r", "u", "A", "D", "x", "t", "d"}:
        a.add("high", "tar: no mode (-c, -x, -t ...) the gate understands", held_by=BOTH)


ZIP = grammar(
    "0123456789ADFJLRSTXcdefghjklmoqruvyz@$",
    "bxinOtPs",
    long_values="--unzip-command --temp-path --output-file",
    any_long=True,
    means={
        "-b": "write",
        "--temp-path": "write",
        "-O": "write",
        "--output-file": "write",
        "--unzip-command": "run",
        "-TT": "run",
    },
    operands="data*",
)


def zip_(a: Walker, inv: Invocation) -> None:
    args = [plain_word("--unzip-command") if w.text == "-TT" else w for w in inv.args]
    parsed = apply_grammar(a, inv.shifted([inv.argv[0], *args]), ZIP)
    a.add("medium", "zip: packs files into an archive")
    if not parsed.operands:
        return
    archive, *files = parsed.operands
    a.write(archive, "zip")
    for word in files:
        a.read(word, "zip", bulk=parsed.has("-r", "--recurse-paths"))
        if parsed.has("-m", "--move"):
            a.delete(word, "zip -m", recursive=True)
    if parsed.has("-@"):
        a.add("high", "zip -@: packs (or with -m deletes) files named on standard input")


def unzip(a: Walker, inv: Invocation) -> None:
    parsed = apply_grammar(
        a, inv, grammar("lvtzZpcfunoqaCLjVXKMsT", "dxIOP", any_long=True, operands="read data*")
    )
    if parsed.has("-l", "-v", "-t", "-z", "-Z", "-p", "-c"):
        a.add("low", "unzip: lists, tests or prints an archive")
        return
    target = (parsed.values("-d") or [plain_word(".")])[-1]
    a.write(target, "unzip", verb="unpacks into")
    a.add(
        "high",
        "unzip: the archive's entries (links, ../ names) decide where files land",
        held_by=BOTH,
        changes=True,
    )


def sevenzip(a: Walker, inv: Invocation) -> None:
    words = inv.args
    command = words[0].text if words else ""
    rest = words[1:]
    outputs = [plain_word(w.text[2:]) for w in rest if w.text.startswith("-o")]
    operands = [w for w in rest if not w.text.startswith("-")]
    a.subcommand(command)
    if command in ("l", "t", "h", "i", "b"):
        a.add("low", f"7z {command}: lists or tests an archive")
    elif command in ("x", "e"):
        for word in outputs or [plain_word(".")]:
            a.write(word, f"7z {command}", verb="unpacks into")
        a.add(
            "high", "7z: the archive's entries decide where files land", held_by=BOTH, changes=True
        )
    elif command in ("a", "u", "d", "rn"):
        for word in operands[:1]:
            a.write(word, f"7z {command}")
        for word in operands[1:]:
            a.read(word, "7z", bulk=True)
    else:
        a.add("high", f"7z: command {command!r} not understood", held_by=BOTH)


def cpio(a: Walker, inv: Invocation) -> None:
    parsed = parse_args(inv.args, grammar(any_short=True, any_long=True, operands="data*"))
    if parsed.has("-i", "--extract"):
        a.add(
            "high",
            "cpio -i: the archive's entries decide where files land",
            held_by=BOTH,
            changes=True,
        )
    elif parsed.has("-p", "--pass-through"):
        for word in parsed.operands:
            a.write(word, "cpio -p", verb="copies into")
        a.add("high", "cpio -p: copies the files named on standard input")
    else:
        a.add("low", "cpio: writes an archive to standard output")


def ar(a: Walker, inv: Invocation) -> None:
    words = inv.args
    key = words[0].text.lstrip("-") if words else ""
    operands = words[1:]
    if "x" in key:
        a.add("high", "ar x: unpacks members into the current folder", held_by=BOTH, changes=True)
        a.write(plain_word("."), "ar x", verb="unpacks into")
    elif set(key) & set("rqdm"):
        for word in operands[:1]:
            a.write(word, "ar")
    elif set(key) & set("tp"):
        a.add("low", "ar: lists or prints members")
    else:
        a.add("high", f"ar: key {key!r} not understood", held_by=BOTH)


COMPRESSORS = names(
    """gzip gunzip bzip2 bunzip2 xz unxz lzma unlzma zstd unzstd lz4 lzip pigz pbzip2 compress
        uncompress brotli"""
)
DECOMPRESSING_READERS = names("zcat gzcat bzcat xzcat zstdcat lz4cat zless zgrep")
_COMPRESS = grammar("cdfhklLnNqrStvVz0123456789TeFB", "SbTMpo", any_long=True, operands="data*")


def compressor(a: Walker, inv: Invocation) -> None:
    """gzip and friends replace each operand with its (de)compressed form, unless told to
    print (-c), test (-t) or list (-l)."""
    parsed = apply_grammar(a, inv, _COMPRESS)
    if parsed.has("-c", "--stdout", "--to-stdout", "-t", "--test", "-l", "--list"):
        a.add("low", f"{inv.name}: prints, tests or lists")
        for word in parsed.operands:
            a.read(word, inv.name)
        return
    if not parsed.operands:
        a.add("low", f"{inv.name}: filters standard input")
    verb = "compresses" if parsed.has("-k", "--keep") else "replaces"
    for word in parsed.operands:
        a.write(word, inv.name, verb=verb)
    for word in parsed.values("-o"):
        a.write(word, inv.name)


ARCHIVE_TOOLS: dict[str, Handler] = {
    "tar": tar,
    "zip": zip_,
    "unzip": unzip,
    **dict.fromkeys(("7z", "7za", "7zr"), sevenzip),
    "cpio": cpio,
    "ar": ar,
    **dict.fromkeys(COMPRESSORS, compressor),
}
