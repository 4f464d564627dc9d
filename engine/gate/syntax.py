"""Parsing shell with tree-sitter-bash: the parser (loaded on first use), the source text of a
node, and the few facts about nodes the rest of the gate asks for.

tree-sitter and its bash grammar are imported lazily: the server answers ``initialize`` before
it needs them, and a process that never gates a command never pays for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tree_sitter import Node, Parser

__all__ = ["MAX_LENGTH", "Source", "TooLarge", "parse"]

MAX_LENGTH = 100_000  # characters; longer command lines are not analysed (unknown)
MAX_NODES = 50_000  # syntax nodes; the same
# tree-sitter-bash 0.25 with tree-sitter 0.26 crashes the process (SIGSEGV, or SIGBUS) on some
# non-ASCII text, e.g. "{" followed by U+E3247, not every time. The shell's syntax is all ASCII
# (every byte >= 0x80 is a word character to bash), so the parser gets each such byte as "x":
# the same tree, the same byte offsets; words are read from the original bytes (Source.data).
_ASCII_SHAPE = bytes(range(128)) + b"x" * 128


class TooLarge(ValueError):
    """The command is too large to analyse."""


@cache
def _parser() -> Parser:
    from tree_sitter import Language, Parser
    from tree_sitter_bash import language

    return Parser(Language(language()))


@dataclass(frozen=True, slots=True)
class Source:
    """A parsed script: its root node and the bytes the node offsets refer to."""

    root: Node
    data: bytes

    def text(self, node: Node) -> str:
        return self.slice(node.start_byte, node.end_byte)

    def slice(self, start: int, end: int) -> str:
        try:
            return self.data[start:end].decode("utf-8", "surrogatepass")
        except UnicodeDecodeError:  # a cut through bytes tree-sitter did not read as text
            return self.data[start:end].decode("utf-8", "replace")


def parse(src: str) -> Source:
    """Parse ``src`` as bash. Raises TooLarge for what is too big to analyse; a syntax error is
    not raised but marked in the tree (``has_error``), which the walk reports."""
    if len(src) > MAX_LENGTH:
        raise TooLarge(f"the command is longer than {MAX_LENGTH} characters")
    data = src.encode("utf-8", "surrogatepass")
    tree = _parser().parse(data if data.isascii() else data.translate(_ASCII_SHAPE))
    root = tree.root_node
    if root.descendant_count > MAX_NODES:
        raise TooLarge(f"the command has more than {MAX_NODES} syntax nodes")
    return Source(root, data)


def error_text(source: Source) -> str | None:
    """A short description of where the script fails to parse; None when it parses. Errors
    inside a here-document's text are not errors (tree-sitter misreads some bodies, such as
    one starting with a backslash, while the text is all the shell ever sees)."""
    bad = _first_error(source, source.root)
    if bad is None:
        return None
    if bad.is_missing:
        return f"the command does not parse as shell (missing {bad.type!r})"
    line = source.data[: bad.start_byte].count(b"\n") + 1
    near = source.text(bad).strip().splitlines()[:1]
    where = f" near {near[0][:40]!r}" if near and near[0] else ""
    return f"the command does not parse as shell (line {line}{where})"


def heredoc_body_span(source: Source, node: Node) -> tuple[int, int] | None:
    """(start, end) bytes of a here-document redirection's text, from the line after its
    marker to its end marker."""
    start = next((c for c in node.named_children if c.type == "heredoc_start"), None)
    end = next((c for c in node.named_children if c.type == "heredoc_end"), None)
    if start is None:
        return None
    newline = source.data.find(b"\n", start.end_byte)
    if newline < 0:
        return None
    return newline + 1, end.start_byte if end is not None else len(source.data)


def _first_error(source: Source, node: Node) -> Node | None:
    if not (node.has_error or node.is_missing):
        return None
    if node.type == "ERROR" or node.is_missing:
        return node
    span = heredoc_body_span(source, node) if node.type == "heredoc_redirect" else None
    for child in node.children:
        if span is not None and span[0] <= child.start_byte < span[1]:
            continue
        found = _first_error(source, child)
        if found is not None:
            return found
    return None
