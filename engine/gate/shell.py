"""A small POSIX-shell reader for the gate: turns a command line into simple commands.

First version, standing in for a tree-sitter-bash walk behind the same Gate interface. It is
deliberately conservative: it understands quoting, escapes, comments (only at a word start),
operators (``; && || | |& &``, newlines, subshells and braces), redirections, here-documents and
substitutions (``$( )``, backticks, ``<( )``, ``>( )``), whose inner scripts it hands back so the
caller can analyse them too. Anything it cannot read raises ``ShellSyntaxError``, which the gate
treats as ``unknown`` risk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = [
    "Redirect",
    "Script",
    "ShellSyntaxError",
    "SimpleCommand",
    "Word",
    "parse",
]


class ShellSyntaxError(ValueError):
    """The command line is not something this reader understands (unbalanced quotes, ...)."""


@dataclass(slots=True)
class Word:
    """One shell word: ``text`` has quotes removed but expansions kept as written."""

    text: str
    dynamic: bool = False  # an expansion ($x, $(...), `...`, $'...') decides the value at run time
    quoted: bool = False  # some part was quoted or escaped
    subs: list[str] = field(default_factory=list)  # scripts of command/process substitutions
    heredoc: str | None = None  # body, when this word is a here-document delimiter


@dataclass(slots=True)
class Redirect:
    op: str
    target: Word


@dataclass(slots=True)
class SimpleCommand:
    words: list[Word] = field(default_factory=list)
    redirects: list[Redirect] = field(default_factory=list)
    stdin_pipe: SimpleCommand | None = None  # the command whose output this one reads via `|`
    in_functions: tuple[str, ...] = ()  # bodies of shell functions this command sits in
    name: str | None = None  # the command it resolved to, filled in by the analysis


@dataclass(slots=True)
class Script:
    commands: list[SimpleCommand]
    functions: set[str]
    notes: list[str]  # constructs not analysed (the caller makes them `unknown`)


OPERATORS = (
    "&>>", "<<<", "<<-", ";;&", "&&", "||", ";;", ";&", "|&", ">>", ">|", "&>",
    "<<", "<>", ">&", "<&", ";", "&", "|", "(", ")", "<", ">",
)  # fmt: skip
REDIRECT_OPS = frozenset({">", ">>", ">|", "&>", "&>>", "<", "<<", "<<-", "<<<", "<>", ">&", "<&"})
_OP_CHARS = frozenset(";&|()<>")
_WORD_END = frozenset(" \t\n;&|()<>")
_PLAIN = re.compile(r"[^\s;&|()<>\\'\"$`]+")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[0-9@*#?$!-]")
_SKIP_KEYWORDS = frozenset(
    {"!", "if", "then", "elif", "else", "fi", "while", "until", "do", "done"}
)
MAX_LENGTH = 100_000


def parse(src: str) -> Script:
    """Split ``src`` into simple commands (in order), raising ShellSyntaxError when unsure."""
    if len(src) > MAX_LENGTH:
        raise ShellSyntaxError("command is too long to analyse")
    tokens, _ = _lex(src, 0, nested=False)
    return _Parser(tokens).run()


# --- lexer -------------------------------------------------------------------------------


def _lex(src: str, i: int, *, nested: bool) -> tuple[list[str | Word], int]:
    """Tokens (operator strings and Words) from ``i``; when ``nested``, stop after the `)` that
    closes a ``$(`` and return the index just past it."""
    tokens: list[str | Word] = []
    heredocs: list[tuple[Word, bool]] = []  # delimiters whose bodies start after the next newline
    depth = 0
    n = len(src)
    while i < n:
        c = src[i]
        if c in " \t":
            i += 1
        elif c == "\\" and src.startswith("\\\n", i):
            i += 2
        elif c == "\n":
            tokens.append(";")
            i = _read_heredocs(src, i + 1, heredocs)
            heredocs.clear()
        elif c == "#":  # only reached at a word start, where `#` opens a comment
            end = src.find("\n", i)
            i = n if end < 0 else end
        elif c in _OP_CHARS and not (c in "<>" and src.startswith("(", i + 1)):
            op = next(o for o in OPERATORS if src.startswith(o, i))
            i += len(op)
            if nested and op == "(":
                depth += 1
            elif nested and op == ")":
                if depth == 0:
                    return tokens, i
                depth -= 1
            tokens.append(op)
        else:
            word, i = _read_word(src, i)
            if word.text.isdigit() and not word.quoted and i < n and src[i] in "<>":
                continue  # an fd number such as the 2 of 2>/dev/null, not an argument
            if tokens and tokens[-1] in ("<<", "<<-"):
                heredocs.append((word, tokens[-1] == "<<-"))
            tokens.append(word)
    if nested:
        raise ShellSyntaxError("unterminated $( ... )")
    _read_heredocs(src, n, heredocs)
    return tokens, i


def _read_heredocs(src: str, i: int, heredocs: list[tuple[Word, bool]]) -> int:
    for word, strip_tabs in heredocs:
        lines: list[str] = []
        while i < len(src):
            end = src.find("\n", i)
            end = len(src) if end < 0 else end
            line = src[i:end]
            i = end + 1
            if (line.lstrip("\t") if strip_tabs else line) == word.text:
                break
            lines.append(line)
        word.heredoc = "\n".join(lines)
        if not word.quoted:  # an unquoted delimiter means the body's substitutions run
            _read_dquoted(word.heredoc, 0, [], word, closing=None)
    return min(i, len(src))


def _read_word(src: str, i: int) -> tuple[Word, int]:
    word = Word("")
    parts: list[str] = []
    n = len(src)
    while i < n:
        c = src[i]
        if c in _WORD_END:
            if c in "<>" and src.startswith("(", i + 1):  # process substitution <( ) / >( )
                i = _read_substitution(src, i, 2, parts, word)
                continue
            break
        plain = _PLAIN.match(src, i)
        if plain:
            parts.append(plain.group())
            i = plain.end()
        elif c == "\\":
            word.quoted = True
            if src.startswith("\n", i + 1):
                i += 2
                continue
            parts.append(src[i + 1 : i + 2])
            i += 2
        elif c == "'":
            end = src.find("'", i + 1)
            if end < 0:
                raise ShellSyntaxError("unbalanced single quote")
            word.quoted = True
            parts.append(src[i + 1 : end])
            i = end + 1
        elif c == '"':
            word.quoted = True
            i = _read_dquoted(src, i + 1, parts, word, closing='"')
        elif c == "$":
            i = _read_dollar(src, i, parts, word)
        else:  # a backtick
            i = _read_backtick(src, i, parts, word)
    word.text = "".join(parts)
    return word, i


def _read_dquoted(src: str, i: int, parts: list[str], word: Word, closing: str | None) -> int:
    """Read up to the closing quote (or the end, for a here-document body)."""
    n = len(src)
    start = i
    while i < n:
        c = src[i]
        if c == closing:
            parts.append(src[start:i])
            return i + 1
        if c == "\\" and i + 1 < n and src[i + 1] in '$`"\\\n':
            parts.append(src[start:i])
            parts.append("" if src[i + 1] == "\n" else src[i + 1])
            i += 2
            start = i
        elif c in "$`":
            parts.append(src[start:i])
            i = (_read_dollar if c == "$" else _read_backtick)(src, i, parts, word)
            start = i
        else:
            i += 1
    if closing is not None:
        raise ShellSyntaxError("unbalanced double quote")
    parts.append(src[start:])
    return n


def _read_dollar(src: str, i: int, parts: list[str], word: Word) -> int:
    nxt = src[i + 1 : i + 2]
    if src.startswith("$((", i):
        end = _matching(src, i + 3, "(", ")", 2)
        inner = src[i + 3 : end - 2]
        if "$(" in inner or "`" in inner:
            raise ShellSyntaxError("command substitution inside arithmetic")
        word.dynamic = True
        parts.append(src[i:end])
        return end
    if nxt == "(":
        return _read_substitution(src, i, 2, parts, word)
    if nxt == "{":
        end = _matching(src, i + 2, "{", "}", 1)
        inner = src[i + 2 : end - 1]
        if "$(" in inner or "`" in inner:  # ${x:-$(cmd)}: the default's command may run
            word.subs.append(inner)
        word.dynamic = True
        parts.append(src[i:end])
        return end
    if nxt == "'":  # $'...' ANSI-C quoting: decoded at run time, so treated as computed
        j = i + 2
        while j < len(src) and src[j] != "'":
            j += 2 if src[j] == "\\" else 1
        if j >= len(src):
            raise ShellSyntaxError("unbalanced $'...' quote")
        word.dynamic = word.quoted = True
        parts.append(src[i : j + 1])
        return j + 1
    if nxt == '"':
        word.quoted = True
        return _read_dquoted(src, i + 2, parts, word, closing='"')
    name = _NAME.match(src, i + 1)
    if name:
        word.dynamic = True
        parts.append(src[i : name.end()])
        return name.end()
    parts.append("$")
    return i + 1


def _read_substitution(src: str, i: int, opener: int, parts: list[str], word: Word) -> int:
    _, end = _lex(src, i + opener, nested=True)
    word.subs.append(src[i + opener : end - 1])
    word.dynamic = True
    parts.append(src[i:end])
    return end


def _read_backtick(src: str, i: int, parts: list[str], word: Word) -> int:
    j = i + 1
    while j < len(src) and src[j] != "`":
        j += 2 if src[j] == "\\" else 1
    if j >= len(src):
        raise ShellSyntaxError("unbalanced backtick")
    word.subs.append(re.sub(r"\\([$`\\])", r"\1", src[i + 1 : j]))
    word.dynamic = True
    parts.append(src[i : j + 1])
    return j + 1


def _matching(src: str, i: int, opener: str, closer: str, width: int) -> int:
    """Index just past the ``closer`` (repeated ``width`` times) that balances an opener."""
    depth = 0
    while i < len(src):
        if src.startswith(opener, i):
            depth += 1
        elif src.startswith(closer, i):
            if depth == 0:
                if src.startswith(closer * width, i):
                    return i + width
                raise ShellSyntaxError(f"unbalanced {opener}")
            depth -= 1
        i += 1
    raise ShellSyntaxError(f"unterminated {opener}")


# --- parser ------------------------------------------------------------------------------


class _Parser:
    def __init__(self, tokens: list[str | Word]) -> None:
        self.tokens = tokens
        self.commands: list[SimpleCommand] = []
        self.functions: set[str] = set()
        self.notes: list[str] = []
        self.function_stack: list[tuple[str, int]] = []  # (name, brace depth at its definition)
        self.braces = 0
        self.pipe_source: SimpleCommand | None = None
        self.current = SimpleCommand()

    def run(self) -> Script:
        tokens = self.tokens
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            if isinstance(tok, Word):
                i = self._word(tok, i)
            elif tok in REDIRECT_OPS:
                target = tokens[i + 1] if i + 1 < len(tokens) else None
                if not isinstance(target, Word):
                    raise ShellSyntaxError(f"redirection {tok!r} has no target")
                self.current.redirects.append(Redirect(tok, target))
                i += 2
            elif tok == "(" and self._one_plain_word() and tokens[i + 1 : i + 2] == [")"]:
                self._define_function(self.current.words[0].text)
                self.current = SimpleCommand()
                i += 2
            else:
                self._finish(piped=tok in ("|", "|&"))
                i += 1
        self._finish(piped=False)
        return Script(self.commands, self.functions, self.notes)

    def _word(self, word: Word, i: int) -> int:
        cmd = self.current
        if cmd.words or cmd.redirects or word.quoted or word.dynamic:
            cmd.words.append(word)
            return i + 1
        text = word.text
        if text in _SKIP_KEYWORDS:
            return i + 1
        if text == "{":
            self.braces += 1
        elif text == "}":
            self.braces -= 1
            while self.function_stack and self.function_stack[-1][1] >= self.braces:
                self.function_stack.pop()
        elif text == "function" and i + 1 < len(self.tokens):
            name = self.tokens[i + 1]
            if not isinstance(name, Word):
                raise ShellSyntaxError("function without a name")
            self._define_function(name.text)
            return i + (4 if self.tokens[i + 2 : i + 4] == ["(", ")"] else 2)
        elif text == "[[":  # a test expression: its `<`, `>`, `&&` are not shell operators
            end = i + 1
            while end < len(self.tokens) and not _is_word(self.tokens[end], "]]"):
                tok = self.tokens[end]
                if isinstance(tok, Word):
                    cmd.words.append(tok)
                end += 1
            cmd.words.insert(0, word)
            return end + 1
        else:
            if text == "case":
                self.notes.append("case statement not analysed")
            cmd.words.append(word)
        return i + 1

    def _one_plain_word(self) -> bool:
        words = self.current.words
        return len(words) == 1 and not words[0].quoted and not words[0].dynamic

    def _define_function(self, name: str) -> None:
        self.functions.add(name)
        self.function_stack.append((name, self.braces))

    def _finish(self, *, piped: bool) -> None:
        cmd = self.current
        if cmd.words or cmd.redirects:
            cmd.stdin_pipe = self.pipe_source
            cmd.in_functions = tuple(name for name, _ in self.function_stack)
            self.commands.append(cmd)
            self.current = SimpleCommand()
            self.pipe_source = cmd if piped else None
        elif piped:  # `( ... ) | sh`: the last command of the group feeds the pipe
            self.pipe_source = self.commands[-1] if self.commands else None
        else:
            self.pipe_source = None


def _is_word(tok: str | Word, text: str) -> bool:
    return isinstance(tok, Word) and tok.text == text and not tok.quoted
