"""find (and fd): start points, the expression's tests and actions. Actions that change files
(``-delete``, ``-exec``, ``-fprint``) are judged on what the search can match: the files under
its start points, narrowed to a name pattern when the expression has exactly one (so
``find . -name '*.pyc' -delete`` deletes caches, ``medium``). What find lists is handed on to
``xargs`` the same way.
"""

from __future__ import annotations

from engine.gate.analysis import Feed, Invocation
from engine.gate.base import BOTH, names
from engine.gate.tools.grammar import Handler
from engine.gate.walk import Walker
from engine.gate.words import Word, plain_word

__all__ = ["FIND_TOOLS"]

_TESTS_WITH_VALUE = names(
    """-name -iname -path -ipath -wholename -iwholename -regex -iregex -type -xtype -size
        -mtime -atime -ctime -amin -cmin -mmin -anewer -cnewer -user -group -uid -gid -perm
        -maxdepth -mindepth -inum -links -lname -ilname -fstype -used -context -regextype
        -printf -newerXY -newermt -newerct -newerat -newerBt"""
)
_READ_VALUE = frozenset({"-newer", "-samefile", "-files0-from", "-anewer", "-cnewer"})
_WRITE_VALUE = frozenset({"-fprint", "-fprint0", "-fls"})
_FLAGS = names(
    """-print -print0 -ls -prune -quit -true -false -not ! -a -and -o -or ( ) , -depth -xdev
        -mount -noleaf -readable -writable -executable -empty -nouser -nogroup -daystart -warn
        -nowarn -ignore_readdir_race -noignore_readdir_race -d -follow"""
)
_EXEC = frozenset({"-exec", "-execdir", "-ok", "-okdir"})


def find(a: Walker, inv: Invocation) -> None:
    args = inv.args
    i = 0
    follows = False
    while i < len(args) and args[i].text in ("-H", "-L", "-P", "-D", "-O"):
        follows = follows or args[i].text == "-L"
        i += 2 if args[i].text in ("-D", "-O") else 1
    starts: list[Word] = []
    while i < len(args) and not args[i].text.startswith(("-", "(", "!")):
        starts.append(args[i])
        i += 1
    starts = starts or [plain_word(".")]
    expression = args[i:]
    a.add("low", "find: lists files")
    for word in starts:
        a.read(word, "find", bulk=True)
    names, narrowable = _names(expression)
    # what the search can match: files named like its one -name pattern, else everything
    # under (and including) its start points
    if narrowable and len(names) == 1:
        matched = [_under(word, names[0]) for word in starts]
    else:
        matched = starts
    changes = False
    j = 0
    while j < len(expression):
        word = expression[j]
        text = word.text
        j += 1
        if text == "-follow":
            follows = True
        elif text == "-delete":
            changes = True
            for target in matched:
                a.delete(target, "find -delete", recursive=True)
        elif text in _EXEC:
            end = next(
                (k for k in range(j, len(expression)) if expression[k].text in (";", "+")),
                len(expression),
            )
            command = [m for w in expression[j:end] for m in _braces(w, matched)]
            j = end + 1
            changes = True
            if command:
                index = a.current
                a.run(inv.shifted(command, feed=None, env={}, functions=False))
                a.current = index
        elif text in _WRITE_VALUE | {"-fprintf"}:
            if j < len(expression):
                a.write(expression[j], f"find {text}")
            j += 2 if text == "-fprintf" else 1
        elif text in _READ_VALUE or text.startswith("-newer"):
            if j < len(expression) and text in _READ_VALUE:
                a.read(expression[j], f"find {text}")
            j += 1
        elif text in _TESTS_WITH_VALUE:
            j += 1
        elif text not in _FLAGS:
            a.add("high", f"find: {text!r} not understood", held_by=BOTH)
    if follows and changes:
        a.add("high", "find -L follows links, which may lead outside the workspace")
    if not changes:
        a.output = Feed("pipe", listing=tuple(matched))


def _names(expression: list[Word]) -> tuple[list[str], bool]:
    """The -name patterns, and whether they narrow every match (no -o, !, -not, parentheses)."""
    names: list[str] = []
    narrowable = True
    for index, word in enumerate(expression):
        if word.text in ("-o", "-or", "!", "-not", "(", ")", ","):
            narrowable = False
        if word.text in ("-name", "-iname") and index + 1 < len(expression):
            value = expression[index + 1]
            if value.literal is None or "/" in value.literal:
                narrowable = False
            else:
                names.append(value.literal)
    return names, narrowable


def _under(start: Word, pattern: str) -> Word:
    """A glob word for the files under ``start`` whose names match ``pattern``."""
    values = tuple(f"{v.rstrip('/') or '/'}/**/{pattern}".replace("//", "/") for v in start.values)
    return Word(f"{start.text.rstrip('/')}/**/{pattern}", values, start.dynamic, glob=True)


def _braces(word: Word, matched: list[Word]) -> list[Word]:
    if "{}" not in word.text:
        return [word]
    if word.text == "{}":
        return matched
    return [plain_word(word.text, dynamic=True)]


def fd(a: Walker, inv: Invocation) -> None:
    """fd: its -x/-X run a command for every match; otherwise it lists."""
    args = inv.args
    a.add("low", "fd: lists files")
    for index, word in enumerate(args):
        if word.text in ("-x", "--exec", "-X", "--exec-batch"):
            rest = args[index + 1 :]
            end = next((k for k, w in enumerate(rest) if w.text == ";"), len(rest))
            command = [m for w in rest[:end] for m in _braces(w, [plain_word("./**/*", glob=True)])]
            if command:
                current = a.current
                a.run(inv.shifted(command, feed=None, env={}, functions=False))
                a.current = current
            return
    a.output = Feed("pipe", listing=(plain_word("./**/*", glob=True),))


FIND_TOOLS: dict[str, Handler] = {"find": find, "fd": fd, "fdfind": fd}
