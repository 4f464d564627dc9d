"""Simple commands as the walk meets them: words (with the variables and substitutions they
use), redirections and here-documents, assignments and declarations, aliases, and each command
handed to the tool checks as an ``Invocation``. ``engine.gate.walk.Walker`` adds the statements
around them (lists, pipelines, branches, loops, functions)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, cast

from engine.gate.analysis import MAX_DEPTH, Analysis, Feed, Invocation, Redirect
from engine.gate.base import BOTH
from engine.gate.syntax import Source, TooLarge, heredoc_body_span, parse
from engine.gate.variables import judge_variable
from engine.gate.words import OPAQUE, Value, Word, make_word, plain_word

if TYPE_CHECKING:
    from tree_sitter import Node

    from engine.gate.walk import Walker

__all__ = ["Commands", "Scope", "fields"]

Judge = Callable[["Walker", Invocation], None]
_WRITE_OPS = {
    ">": "writes",
    ">|": "writes",
    "&>": "writes",
    "<>": "writes",
    ">&": "writes",
    ">>": "appends to",
    "&>>": "appends to",
}
_READ_OPS = frozenset({"<", "<&"})
REDIRECTS = frozenset({"file_redirect", "heredoc_redirect", "herestring_redirect"})


@dataclass(slots=True)
class Scope:
    """What one shell process knows: its functions and aliases (a `sh -c` starts afresh)."""

    functions: dict[str, tuple[Source, Node]] = field(default_factory=dict)
    aliases: dict[str, str | None] = field(default_factory=dict)


class Commands(Analysis):
    """The walk's handling of simple commands; the statement walk is the subclass's."""

    def __init__(self, workspace: str, judge: Judge, is_command: Callable[[str], bool]) -> None:
        super().__init__(workspace)
        self.judge = judge
        self.is_command = is_command
        self.scope = Scope()
        self.source: Source | None = None
        self.depth = 0
        self.visits = 0  # statements walked, against MAX_VISITS
        self.calls: list[tuple[str, int]] = []  # functions being walked, with `spawning` then
        self.spawning = 0  # how many pipelines or background jobs enclose this point
        self.output: Feed | None = None  # what the last command prints, when a check knows
        self.pending: dict[int, list[Node]] = {}  # node id -> redirections that belong to it
        self.expanding: set[str] = set()  # aliases being expanded

    # --- the statement walk (engine.gate.walk.Walker) ------------------------------------

    def _statements(self, nodes: Iterable[Node], feed: Feed | None) -> None:
        raise NotImplementedError

    def _apart(self, walk: Callable[[], None], *, spawn: bool) -> None:
        raise NotImplementedError

    def inline(self, text: str, what: str) -> None:
        raise NotImplementedError

    def call_function(self, name: str) -> None:
        raise NotImplementedError

    # --- words, substitutions, redirections --------------------------------------------

    def define_alias(self, name: str, value: str | None) -> None:
        self.scope.aliases[name] = value

    def word(self, node: Node) -> Word:
        assert self.source is not None
        mark = self.mark
        word = make_word(node, self.source, self)
        found = self.tool_names(mark)
        return replace(word, sources=found) if found else word

    def variable(self, name: str) -> tuple[Value, ...] | None:
        if name in self.state.variables:
            return self.state.variables[name]
        if name == "HOME":
            return (("~", False),)
        if name == "PWD":
            return ((".", False),)
        return None

    def substitution(self, node: Node) -> str | None:
        if node.type == "process_substitution":
            # >(cmd) reads what the command around it writes: input only run time knows
            writes_in = bool(node.children) and node.children[0].type == ">("
            feed = Feed("computed") if writes_in else None
            current = self.current
            self._apart(lambda: self._statements(node.children, feed), spawn=True)
            self.current = current
            return "/dev/fd/63"
        current = self.current
        self._apart(lambda: self._statements(node.children, None), spawn=False)
        self.current = current
        inner = [c for c in node.named_children if c.type != "comment"]
        if len(inner) == 1 and inner[0].type == "command" and self.source is not None:
            return "." if self.source.text(inner[0]).strip() == "pwd" else None
        return None

    def _substitutions(self, node: Node, skip: Node | None = None) -> None:
        """Walk the command and process substitutions anywhere under ``node``."""
        for child in node.named_children:
            if skip is not None and child == skip:
                continue
            if child.type in ("command_substitution", "process_substitution"):
                self.substitution(child)
            elif child.type in OPAQUE and self.source is not None:
                self.opaque(self.source.text(child))
            else:
                self._substitutions(child)

    def opaque(self, text: str) -> None:
        if "$(" in text or "`" in text or "<(" in text or ">(" in text:
            self._text_substitutions('"' + text.replace('"', '\\"') + '"')

    def _redirects(
        self, nodes: list[Node], inv: Invocation | None, feed: Feed | None, *, judge: bool = True
    ) -> Feed | None:
        """Read redirections (collected into ``inv``; judged now unless ``judge`` is False, when
        ``run`` judges them); returns the standard input they leave the command with."""
        for node in nodes:
            if node.type == "file_redirect":
                redirect = self._file_redirect(node)
                if redirect is None:
                    continue
                if inv is not None:
                    inv.redirects.append(redirect)
                if judge:
                    self.judge_redirect(redirect)
                if redirect.op in _READ_OPS:
                    feed = Feed("file", word=redirect.target)
            elif node.type == "heredoc_redirect":
                feed = self._heredoc(node)
                inner = [c for c in node.named_children if c.type in REDIRECTS]
                feed = self._redirects(inner, inv, None, judge=judge) or feed
            elif node.type == "herestring_redirect":
                words = [self.word(c) for c in node.named_children]
                text = words[0].literal if len(words) == 1 else None
                feed = Feed("text", text=None if text is None else text + "\n")
        return feed

    def _file_redirect(self, node: Node) -> Redirect | None:
        assert self.source is not None
        op = next((c.type for c in node.children if not c.is_named), "")
        fd_node = node.child_by_field_name("descriptor")
        fd = int(self.source.text(fd_node)) if fd_node is not None else None
        targets = [c for c, field_name in fields(node) if field_name == "destination"]
        if not targets:
            return None
        target = self.word(targets[0])
        if op in (">&", "<&") and (target.text.isdigit() or target.text in ("-", "")):
            return None  # descriptor duplication such as 2>&1
        return Redirect(op, target, fd)

    def judge_redirect(self, redirect: Redirect) -> None:
        target = redirect.target
        if target is None:
            return
        self.unowned = True  # its paths count for the command's rules; its findings are its own
        try:
            if redirect.op in _WRITE_OPS:
                self.write(target, f"redirect {redirect.op}", verb=_WRITE_OPS[redirect.op])
            elif redirect.op in _READ_OPS:
                self.read(target, f"redirect {redirect.op}")
        finally:
            self.unowned = False

    def _heredoc(self, node: Node) -> Feed:
        """A here-document's text, read from the source between its line and its end marker
        (tree-sitter's body node is not always right: a body starting with `\\` comes out as
        words). Unquoted, its substitutions run when it is read, and expansions make it
        computed."""
        assert self.source is not None
        source = self.source
        start = next((c for c in node.named_children if c.type == "heredoc_start"), None)
        span = heredoc_body_span(source, node)
        if start is None or span is None:
            return Feed("text", text="")
        first, stop = span
        begin = max([first, *(e for e in self._heredoc_ends(source) if first <= e < stop)])
        text = source.slice(begin, stop)
        if node.children and node.children[0].type == "<<-":
            text = "\n".join(line.lstrip("\t") for line in text.split("\n"))
        if any(q in source.text(start) for q in "'\"\\"):
            return Feed("text", text=text)
        if "$" not in text and "`" not in text:
            return Feed("text", text=text.replace("\\\n", ""))
        self._text_substitutions('"' + text.replace('"', '\\"') + '"')
        return Feed("text", text=None)

    def _heredoc_ends(self, source: Source) -> list[int]:
        """Where the here-documents of a script end (past their end marker's line)."""
        ends: list[int] = []
        stack = [source.root]
        while stack:
            node = stack.pop()
            if node.type == "heredoc_end":
                ends.append(node.end_byte + 1)
            stack.extend(node.children)
        return ends

    def _text_substitutions(self, text: str) -> None:
        """Walk the command substitutions of a double-quoted string given as text."""
        if self.depth >= MAX_DEPTH:
            self.add("unknown", "substitutions nested too deeply to analyse")
            return
        try:
            parsed = parse(text)
        except TooLarge as exc:
            self.add("unknown", str(exc))
            return
        saved = self.source
        self.source = parsed
        self.depth += 1
        try:
            self._substitutions(parsed.root)
        finally:
            self.source = saved
            self.depth -= 1

    def _command(self, node: Node, feed: Feed | None, extra: list[Node]) -> None:
        words: list[Word] = []
        env: dict[str, Word] = {}
        redirects = list(extra)
        for child, field_name in fields(node):
            if child.type == "variable_assignment" and not words:
                name, value = self._assignment(child)
                if name is not None:
                    env[name] = value
            elif child.type in REDIRECTS or field_name == "redirect":
                redirects.append(child)
            elif child.type == "command_name":
                named = child.named_children
                words.append(self.word(named[0]) if named else plain_word(""))
            elif child.type != "comment":
                words.append(self.word(child))
        if not words:
            self.current = None
            for name, value in env.items():
                self.assign(name, value, exported=False)
            self._redirects(redirects, None, feed)
            return
        inv = Invocation(words, _name(words[0]), [], feed or self.state.stdin, env)
        inv.feed = self._redirects(redirects, inv, inv.feed, judge=False)
        self.run(inv)

    def run(self, inv: Invocation) -> None:
        """Judge one command; wrappers call this again for the command they run."""
        head = inv.argv[0]
        self.begin_command(inv.name, " ".join(w.text for w in inv.argv))
        if inv.fresh:
            for redirect in inv.redirects:
                self.judge_redirect(redirect)
        literal = head.literal
        if literal is None:
            self.add("unknown", f"computed command name {head.text!r}", held_by=BOTH)
            return
        for name, value in inv.env.items():
            judge_variable(self, name, value, inv.name, shell=False)
        if inv.functions and "/" not in literal:
            if literal in self.scope.aliases and literal not in self.expanding:
                self._alias_call(literal, inv)
            if literal in self.scope.functions:
                index = self.current
                self.call_function(literal)
                self.current = index
                if not self.is_command(literal):
                    return
                self.add("high", f"shell function {literal!r} shadows the command {literal}")
        self.judge(cast("Walker", self), inv)  # the tools see the whole walk

    def _alias_call(self, name: str, inv: Invocation) -> None:
        alias = self.scope.aliases[name]
        if alias is None:
            self.add("unknown", f"{name!r} is an alias whose text is computed at run time")
            return
        rest = " ".join(_quoted(w) for w in inv.args)
        index = self.current
        self.expanding.add(name)  # the shell does not expand an alias inside itself
        try:
            self.inline(f"{alias} {rest}", f"alias {name}")
        finally:
            self.expanding.discard(name)
        self.current = index
        self.add("high", f"{name!r} is an alias this script defines: {alias!r}")

    def _assignment(self, node: Node) -> tuple[str | None, Word]:
        assert self.source is not None
        name_node = node.child_by_field_name("name")
        value_node = node.child_by_field_name("value")
        value = self.word(value_node) if value_node is not None else plain_word("")
        if value_node is not None and value_node.type == "array":
            value = plain_word(self.source.text(value_node), dynamic=True)
        if name_node is None or name_node.type != "variable_name":
            return None, value
        appends = any(c.type == "+=" for c in node.children)
        name = self.source.text(name_node)
        if appends:
            value = _appended(self.state.variables.get(name), value)
        return name, value

    def _assignments(self, node: Node, feed: Feed | None) -> None:
        self.current = None
        targets = node.named_children if node.type == "variable_assignments" else [node]
        for child in targets:
            name, value = self._assignment(child)
            if name is not None:
                self.assign(name, value, exported=False)

    def assign(self, name: str, value: Word, *, exported: bool) -> None:
        """A shell variable is set (``exported``: also for the programs it starts)."""
        self.state.variables[name] = (
            None if value.dynamic else tuple((v, _has_glob(v)) for v in value.values)
        )
        judge_variable(self, name, value, None, shell=not exported)

    def _declaration(self, node: Node, feed: Feed | None) -> None:
        """export, declare, typeset, local, readonly: assignments, exported or not."""
        assert self.source is not None
        self.current = None
        keyword = node.children[0].type if node.children else ""
        flags = "".join(
            self.source.text(c)[1:]
            for c in node.named_children
            if c.type == "word" and self.source.text(c).startswith("-")
        )
        exported = keyword == "export" or "x" in flags
        if "f" in flags and exported:
            self.add("high", "exports shell functions to the shells this step starts")
        for child in node.named_children:
            if child.type == "variable_assignment":
                name, value = self._assignment(child)
                if name is not None:
                    self.assign(name, value, exported=exported)
            elif child.type not in ("word", "variable_name"):
                self.word(child)

    def _unset(self, node: Node, feed: Feed | None) -> None:
        assert self.source is not None
        for child in node.named_children:
            self.state.variables[self.source.text(child)] = (("", False),)


def fields(node: Node) -> list[tuple[Node, str | None]]:
    """The named children with their field names, in order."""
    return [
        (child, node.field_name_for_child(index))
        for index, child in enumerate(node.children)
        if child.is_named
    ]


def _name(word: Word) -> str:
    literal = word.literal
    return "" if literal is None else literal.rsplit("/", 1)[-1]


def _quoted(word: Word) -> str:
    return "'" + word.text.replace("'", "'\\''") + "'" if not word.dynamic else word.text


def _has_glob(value: str) -> bool:
    return any(c in value for c in "*?[")


def _appended(old: tuple[Value, ...] | None, value: Word) -> Word:
    if old is None or value.dynamic or len(old) * len(value.values) > 64:
        return plain_word(value.text, dynamic=True)
    joined = tuple(o + v for o, _ in old for v in value.values)
    return Word(joined[0], joined)
