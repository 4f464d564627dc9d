"""Shell words as the gate sees them: quotes removed, ANSI-C strings decoded, brace expansion
done, variables the script set filled in, and marks for what only run time decides.

The shell's own order is followed: brace expansion, then tilde, parameter and command
substitution, then globbing. A home directory is written ``~`` (``~user`` for another user's),
whether the script said ``~``, ``$HOME`` or ``${HOME}``; the current directory (``$PWD``,
``$(pwd)``) is written ``.``. Everything else computed at run time keeps its source text and marks
the word ``dynamic``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise, product
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from tree_sitter import Node

    from engine.gate.syntax import Source

__all__ = ["MAX_VALUES", "Value", "Word", "WordEnv", "make_word", "plain_word"]

MAX_VALUES = 64  # brace or variable alternatives of one word; more is computed (unknown)
Value = tuple[str, bool]  # (text, has glob characters)
_ACTIVE = frozenset("*?[{},~")  # characters that mean something unquoted in a word
_GLOB = frozenset("*?[")
_SUBSTITUTIONS = ("command_substitution", "process_substitution")
# Nodes whose text tree-sitter does not parse further, though the shell expands it.
OPAQUE = frozenset({"regex", "word", "extglob_pattern"})
_ANSI = {
    "a": "\a",
    "b": "\b",
    "e": "\x1b",
    "E": "\x1b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "?": "?",
}
_ANSI_NUMBER = re.compile(r"[0-7]{1,3}|x[0-9a-fA-F]{1,2}|u[0-9a-fA-F]{1,4}|U[0-9a-fA-F]{1,8}")


@dataclass(frozen=True, slots=True)
class Word:
    """One shell word. ``values`` are its possible values after brace expansion and known
    variables; ``text`` is how to show it; ``dynamic`` marks a part only run time decides."""

    text: str
    values: tuple[str, ...]
    dynamic: bool = False
    glob: bool = False
    quoted: bool = False
    sources: tuple[str, ...] = ()  # tools of the command substitutions inside it

    @property
    def literal(self) -> str | None:
        """The one value this word has, when nothing about it is computed."""
        if self.dynamic or len(self.values) != 1:
            return None
        return self.values[0]


def plain_word(text: str, *, dynamic: bool = False, glob: bool = False) -> Word:
    return Word(text, (text,), dynamic=dynamic, glob=glob)


class WordEnv(Protocol):
    """What building a word needs from the walk: variable values and substitutions."""

    def variable(self, name: str) -> tuple[Value, ...] | None:
        """Known values of ``$name`` (None: computed at run time)."""

    def substitution(self, node: Node) -> str | None:
        """Analyse a command or process substitution; its output when known (``.`` for pwd)."""

    def opaque(self, text: str) -> None:
        """Analyse the substitutions in text tree-sitter left unparsed (a pattern in ``${x#...}``,
        a regular expression in ``[[ =~ ]]``)."""


@dataclass(slots=True)
class _Piece:
    """Part of a word: alternatives (scratch text: backslash-escaped where inert)."""

    alternatives: tuple[str, ...]
    dynamic: bool = False


class _Builder:
    def __init__(self, source: Source, env: WordEnv) -> None:
        self.source = source
        self.env = env
        self.pieces: list[_Piece] = []
        self.quoted = False

    def inert(self, text: str, dynamic: bool = False) -> None:
        self.pieces.append(_Piece((_escape(text, _ACTIVE),), dynamic))

    def node(self, node: Node, *, in_quotes: bool = False) -> None:
        kind = node.type
        if kind in ("word", "number", "extglob_pattern", "regex", "special_variable_name"):
            raw = self.source.text(node).replace("\\\n", "")
            if in_quotes:
                self.inert(raw)
            else:
                self.quoted = self.quoted or "\\" in raw
                self.pieces.append(_Piece((raw,)))
        elif kind == "concatenation" or kind == "brace_expression":
            if kind == "brace_expression":
                self.pieces.append(_Piece((self.source.text(node),)))
                return
            for child in node.children:
                self.node(child, in_quotes=in_quotes)
        elif kind == "raw_string":
            self.quoted = True
            self.inert(self.source.text(node)[1:-1])
        elif kind == "ansi_c_string":
            self.quoted = True
            decoded = _ansi_c(self.source.text(node)[2:-1])
            if decoded is None:
                self.inert(self.source.text(node), dynamic=True)
            else:
                self.inert(decoded)
        elif kind in ("string", "translated_string"):
            self.quoted = True
            self._string(node)
        elif kind in ("simple_expansion", "expansion"):
            self._expansion(node, in_quotes)
        elif kind in _SUBSTITUTIONS:
            output = self.env.substitution(node)
            if output is None:
                self.inert(self.source.text(node).strip(), dynamic=True)
            else:
                self.inert(output)
        elif kind == "arithmetic_expansion":
            self._walk_substitutions(node)
            self.inert(self.source.text(node), dynamic=True)
        elif not node.is_named and not in_quotes:
            self.pieces.append(_Piece((_escape(self.source.text(node), _ACTIVE - {"{", "}"}),)))
        else:  # anything else is something we do not read: computed
            self._walk_substitutions(node)
            self.inert(self.source.text(node), dynamic=True)

    def _string(self, node: Node) -> None:
        """A double-quoted string: literal gaps between the expansions in it."""
        start = node.start_byte + (2 if node.type == "translated_string" else 1)
        end = node.end_byte - 1
        for child in node.named_children:
            if child.type == "string_content":
                continue
            child_start = child.start_byte
            if child.type == "command_substitution":  # its node may start at leading blanks
                text = self.source.text(child)
                child_start += len(text) - len(text.lstrip())
            if child_start > start:
                self.inert(_unescape_dquoted(self.source.slice(start, child_start)))
            self.node(child, in_quotes=True)
            start = child.end_byte
        if end > start:
            self.inert(_unescape_dquoted(self.source.slice(start, end)))

    def _expansion(self, node: Node, in_quotes: bool) -> None:
        name = _plain_variable(node)
        values = self.env.variable(name) if name is not None else None
        if values is None:
            self._walk_substitutions(node)
            self.inert(self.source.text(node), dynamic=True)
            return
        inert = _ACTIVE if in_quotes else _ACTIVE - _GLOB  # unquoted: globs in the value count
        splits = any(not in_quotes and re.search(r"\s", text) for text, _ in values)
        if splits:  # word splitting makes several words: not followed
            self.inert(self.source.text(node), dynamic=True)
            return
        alternatives = tuple(
            _escape(text, inert if glob else _ACTIVE) if text != "~" else "~"
            for text, glob in values
        )
        self.pieces.append(_Piece(alternatives))

    def _walk_substitutions(self, node: Node) -> None:
        for child in node.named_children:
            if child.type in _SUBSTITUTIONS:
                self.env.substitution(child)
            elif child.type in OPAQUE:
                self.env.opaque(self.source.text(child))
            else:
                self._walk_substitutions(child)

    def word(self, shown: str) -> Word:
        if len(self.pieces) == 1 and len(self.pieces[0].alternatives) == 1:
            scratch = self.pieces[0].alternatives[0]
            if not any(c in scratch for c in "\\{*?["):  # the common case: a plain word
                text = scratch if not self.pieces[0].dynamic else shown
                return Word(text, (scratch,), self.pieces[0].dynamic, quoted=self.quoted)
        dynamic = any(piece.dynamic for piece in self.pieces)
        combos = 1
        for piece in self.pieces:
            combos *= len(piece.alternatives)
        if combos > MAX_VALUES:
            return Word(shown, (shown,), dynamic=True, quoted=self.quoted)
        scratches = ["".join(parts) for parts in product(*(p.alternatives for p in self.pieces))]
        values: list[str] = []
        glob = False
        for scratch in scratches:
            expanded = _brace_expand(scratch)
            if expanded is None or len(values) + len(expanded) > MAX_VALUES:
                return Word(shown, (shown,), dynamic=True, quoted=self.quoted)
            for item in expanded:
                glob = glob or _has_glob(item)
                values.append(_unescape(item))
        unique = tuple(dict.fromkeys(values)) or ("",)
        text = unique[0] if len(unique) == 1 and not dynamic else shown
        return Word(text, unique, dynamic=dynamic, glob=glob, quoted=self.quoted)


def make_word(node: Node, source: Source, env: WordEnv) -> Word:
    """The Word for an argument node (word, string, concatenation, expansion ...)."""
    builder = _Builder(source, env)
    builder.node(node)
    return builder.word(source.text(node))


def _plain_variable(node: Node) -> str | None:
    """``x`` for ``$x``, ``${x}`` and ``$1``; None for ``${x:-y}``, ``${#x}`` and the like."""
    named = node.named_children
    if len(named) != 1 or named[0].type != "variable_name":
        return None
    if node.type == "expansion" and node.child_count != 3:  # `${`, name, `}` and nothing else
        return None
    text = named[0].text
    return text.decode() if text is not None else None


def _escape(text: str, chars: frozenset[str]) -> str:
    return "".join(f"\\{c}" if c in chars or c == "\\" else c for c in text)


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text, flags=re.S) if "\\" in text else text


def _unescape_dquoted(text: str) -> str:
    return re.sub(r'\\([$`"\\\n])', lambda m: "" if m.group(1) == "\n" else m.group(1), text)


def _has_glob(scratch: str) -> bool:
    i = 0
    while i < len(scratch):
        if scratch[i] == "\\":
            i += 2
            continue
        if scratch[i] in _GLOB:
            return True
        i += 1
    return False


def _ansi_c(body: str) -> str | None:
    """Decode the body of ``$'...'``; None for escapes this reader does not know (``\\c``)."""
    out: list[str] = []
    i = 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        nxt = body[i + 1 : i + 2]
        if nxt in _ANSI:
            out.append(_ANSI[nxt])
            i += 2
            continue
        number = _ANSI_NUMBER.match(body, i + 1)
        if number is None:
            return None
        digits = number.group()
        code = int(digits, 8) if digits[0] in "01234567" else int(digits[1:], 16)
        if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return None
        out.append(chr(code))
        i = number.end()
    return "".join(out)


def _brace_expand(scratch: str) -> list[str] | None:
    """Bash brace expansion of an escaped scratch string; None past MAX_VALUES results."""
    i = 0
    n = len(scratch)
    while i < n:
        c = scratch[i]
        if c == "\\":
            i += 2
            continue
        if c == "{":
            found = _matching_brace(scratch, i)
            if found is not None:
                end, commas = found
                pre, post = scratch[:i], scratch[end + 1 :]
                if commas:
                    bounds = [i, *commas, end]
                    parts = [scratch[a + 1 : b] for a, b in pairwise(bounds)]
                else:
                    parts = _sequence(scratch[i + 1 : end]) or []
                if parts:
                    out: list[str] = []
                    for part in parts:
                        more = _brace_expand(pre + part + post)
                        if more is None or len(out) + len(more) > MAX_VALUES:
                            return None
                        out.extend(more)
                    return out
        i += 1
    return [scratch]


def _matching_brace(scratch: str, start: int) -> tuple[int, list[int]] | None:
    depth = 0
    commas: list[int] = []
    i = start
    while i < len(scratch):
        c = scratch[i]
        if c == "\\":
            i += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i, commas
        elif c == "," and depth == 1:
            commas.append(i)
        i += 1
    return None


def _sequence(body: str) -> list[str] | None:
    """``1..5``, ``a..e``, ``01..10..2``: the values, or None when it is not a sequence."""
    match = re.fullmatch(r"(-?\d+|[A-Za-z])\.\.(-?\d+|[A-Za-z])(?:\.\.(-?\d+))?", body)
    if match is None:
        return None
    first, last, step_text = match.groups()
    step = abs(int(step_text or "1")) or 1
    if first.lstrip("-").isdigit() and last.lstrip("-").isdigit():
        a, b = int(first), int(last)
        if abs(b - a) // step + 1 > MAX_VALUES:
            return [body] * (MAX_VALUES + 1)  # more than the limit: the caller gives up
        width = max(len(first), len(last)) if first.lstrip("-").startswith("0") else 0
        numbers = range(a, b + (1 if b >= a else -1), step if b >= a else -step)
        return [str(x).zfill(width) for x in numbers]
    if first.isalpha() and last.isalpha():
        a, b = ord(first), ord(last)
        chars = range(a, b + (1 if b >= a else -1), step if b >= a else -step)
        return [_escape(chr(x), _ACTIVE) for x in chars]
    return None
