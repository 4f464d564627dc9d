"""The walk over a parsed script: every node (lists, pipelines, subshells, substitutions,
here-documents, compound commands, functions, assignments, redirections), with the shell state
following the control flow: a branch that may or may not run leaves either state behind.

Each simple command becomes an ``Invocation`` for the tool checks (``engine.gate.tools``).
Shell functions are judged where they are defined and again where they are called (in the
caller's state); a function or alias named like a command is judged as both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TYPE_CHECKING

from engine.gate.analysis import MAX_DEPTH, Analysis, Feed, Invocation, Redirect, State
from engine.gate.base import BOTH
from engine.gate.syntax import Source, TooLarge, error_text, heredoc_body_span, parse
from engine.gate.variables import judge_variable
from engine.gate.words import Value, Word, make_word, plain_word

if TYPE_CHECKING:
    from tree_sitter import Node

__all__ = ["Walker"]

Judge = Callable[["Walker", Invocation], None]
MAX_VISITS = 20_000  # statements walked (functions are walked at every call): more is unknown
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
_REDIRECTS = frozenset({"file_redirect", "heredoc_redirect", "herestring_redirect"})


@dataclass(slots=True)
class _Scope:
    """What one shell process knows: its functions and aliases (a `sh -c` starts afresh)."""

    functions: dict[str, tuple[Source, Node]] = field(default_factory=dict)
    aliases: dict[str, str | None] = field(default_factory=dict)


class Walker(Analysis):
    def __init__(self, workspace: str, judge: Judge, is_command: Callable[[str], bool]) -> None:
        super().__init__(workspace)
        self.judge = judge
        self.is_command = is_command
        self.scope = _Scope()
        self.source: Source | None = None
        self.depth = 0
        self.visits = 0
        self.calls: list[tuple[str, int]] = []  # functions being walked, with `spawning` then
        self.spawning = 0  # how many pipelines or background jobs enclose this point
        self.output: Feed | None = None  # what the last command prints, when a check knows
        self.pending: dict[int, list[Node]] = {}  # node id -> redirections that belong to it
        self.expanding: set[str] = set()  # aliases being expanded

    # --- scripts ---------------------------------------------------------------------------

    def analyse(self, text: str) -> None:
        self._parse_and_walk(text)

    def script(self, text: str, what: str) -> None:
        """A script run by another shell process: a fresh scope and fresh variables."""
        if not self._deeper(what):
            return
        saved = (self.scope, self.state.variables, self.source)
        self.scope, self.state.variables = _Scope(), {}
        try:
            self._parse_and_walk(text)
        finally:
            self.scope, self.state.variables, self.source = saved
            self.depth -= 1

    def inline(self, text: str, what: str) -> None:
        """Text run by this very shell (an alias, ``eval``): same scope and state."""
        if not self._deeper(what):
            return
        saved = self.source
        try:
            self._parse_and_walk(text)
        finally:
            self.source = saved
            self.depth -= 1

    def _deeper(self, what: str) -> bool:
        if self.depth >= MAX_DEPTH:
            self.add("unknown", f"{what}: commands nested too deeply to analyse")
            return False
        self.depth += 1
        return True

    def _parse_and_walk(self, text: str) -> None:
        current = self.current
        try:
            source = parse(text)
        except TooLarge as exc:
            self.add("unknown", str(exc))
            return
        self.source = source
        problem = error_text(source) if source.root.has_error else None
        if problem is not None:
            self.current = None
            self.add("unknown", problem)
        self._collect_functions(source, source.root)
        self._statements(source.root.children, None)
        self.current = current

    def _collect_functions(self, source: Source, node: Node) -> None:
        """Every function this script defines, wherever (a branch never taken still counts)."""
        for child in node.named_children:
            if child.type == "function_definition":
                name = child.child_by_field_name("name")
                if name is not None:
                    self.scope.functions[source.text(name)] = (source, child)
            if child.type not in ("command_substitution", "process_substitution"):
                self._collect_functions(source, child)

    # --- statements --------------------------------------------------------------------------

    def _statements(self, nodes: Iterable[Node], feed: Feed | None) -> None:
        nodes = list(nodes)
        for index, node in enumerate(nodes):
            if not node.is_named or node.type in ("comment", "heredoc_body"):
                continue
            following = nodes[index + 1] if index + 1 < len(nodes) else None
            if following is not None and following.type == "&":
                self._apart(partial(self._statement, node, feed), spawn=True)
            else:
                self._statement(node, feed)

    def _apart(self, walk: Callable[[], None], *, spawn: bool) -> None:
        """Walk something that runs in a subshell: its state changes stay inside."""
        saved = self.state.copy()
        self.spawning += spawn
        try:
            walk()
        finally:
            self.spawning -= spawn
            self.state = saved

    def _statement(
        self, node: Node, feed: Feed | None, redirects: list[Node] | None = None
    ) -> None:
        self.visits += 1
        if self.visits > MAX_VISITS:
            if self.visits == MAX_VISITS + 1:
                self.add("unknown", "the command is too complex to analyse")
            return
        kind = node.type
        redirects = [*(redirects or []), *self.pending.pop(node.id, [])]
        if kind == "command":
            self._command(node, feed, redirects)
            return
        if redirects:
            feed = self._redirects(redirects, None, feed)
        handler = _HANDLERS.get(kind)
        if handler is not None:
            handler(self, node, feed)
        elif kind == "ERROR":
            self._statements(node.named_children, feed)
        elif kind.endswith("_redirect"):
            self._redirects([node], None, feed)
        else:
            self.current = None
            self.add("unknown", f"shell construct {kind!r} not analysed")
            self._substitutions(node)

    def _sequence(self, node: Node, feed: Feed | None) -> None:
        self._statements(node.children, feed)

    def _subshell(self, node: Node, feed: Feed | None) -> None:
        self._apart(lambda: self._statements(node.children, feed), spawn=False)

    def _compound(self, node: Node, feed: Feed | None) -> None:
        if node.children and node.children[0].type == "((":  # (( arithmetic ))
            self._substitutions(node)
        else:
            self._statements(node.children, feed)

    def _negated(self, node: Node, feed: Feed | None) -> None:
        self._statements(node.named_children, feed)

    def _list(self, node: Node, feed: Feed | None) -> None:
        """``a && b`` / ``a || b``: b may or may not run."""
        left, *rest = node.named_children
        self._statement(left, feed)
        for right in rest:
            self._maybe(partial(self._statement, right, None))

    def _maybe(self, walk: Callable[[], None]) -> None:
        before = self.state.copy()
        walk()
        self.state = before.merge(self.state)

    def _pipeline(self, node: Node, feed: Feed | None) -> None:
        self._pipe_elements([c for c in node.named_children if c.type != "comment"], feed)

    def _pipe_elements(self, elements: list[Node], feed: Feed | None) -> None:
        sources: tuple[str, ...] = feed.sources if feed is not None else ()
        for element in elements:
            mark = self.mark
            self.output = None
            self._apart(partial(self._statement, element, feed), spawn=len(elements) > 1)
            sources += self.tool_names(mark)
            shown = self.output
            text = shown.text if shown is not None else None
            listing = shown.listing if shown is not None else None
            feed = Feed("pipe", text=text, sources=sources, listing=listing)

    def _redirected(self, node: Node, feed: Feed | None) -> None:
        """A statement with redirections; a here-document's node also holds what follows it on
        its line (`cat <<E | sh`, `cat <<E && x`), which runs after the statement."""
        body = node.child_by_field_name("body")
        redirects = [c for c in node.named_children if c.type in _REDIRECTS]
        piped: list[Node] = []
        after: list[Node] = []
        for redirect in redirects:
            if redirect.type != "heredoc_redirect":
                continue
            for child, field_name in _fields(redirect):
                if child.type == "pipeline":
                    piped.append(child)
                elif field_name == "right":
                    after.append(child)
        if body is None:
            self._redirects(redirects, None, feed)
            return
        target = _rightmost(body)
        if target is not body:  # tree-sitter hangs `a && b > f` on the list: it is b's
            self.pending[target.id] = redirects
            redirects = []
        if piped:
            mark = self.mark
            self.output = None
            self._apart(partial(self._statement, body, feed, redirects), spawn=True)
            downstream = [c for p in piped for c in p.named_children]
            self._pipe_elements(downstream, Feed("pipe", sources=self.tool_names(mark)))
        else:
            self._statement(body, feed, redirects)
        for child in after:
            self._maybe(partial(self._statement, child, None))

    def _if(self, node: Node, feed: Feed | None) -> None:
        branches: list[list[Node]] = [[]]
        for child, field_name in _fields(node):
            if field_name == "condition":
                self._statement(child, feed)
            elif child.type == "elif_clause":
                condition, body = _split_at(child, "then")
                self._statements(condition, feed)
                branches.append(body)
            elif child.type == "else_clause":
                branches.append(list(child.children))
            else:
                branches[0].append(child)
        has_else = any(c.type == "else_clause" for c in node.named_children)
        self._branches(branches, feed, exhaustive=has_else)

    def _branches(self, branches: list[list[Node]], feed: Feed | None, *, exhaustive: bool) -> None:
        start = self.state
        ends: list[State] = []
        for body in branches:
            self.state = start.copy()
            self._statements(body, feed)
            ends.append(self.state)
        merged = start if not exhaustive or not ends else ends[0]
        for end in ends if not exhaustive else ends[1:]:
            merged = merged.merge(end)
        self.state = merged

    def _loop(self, body: list[Node], feed: Feed | None) -> None:
        """A body that runs any number of times: once, and once more from either state."""
        before = self.state.copy()
        self._statements(body, feed)
        once = before.merge(self.state)
        self.state = once.copy()
        self._statements(body, feed)
        twice = once.merge(self.state)
        if twice.cwd != once.cwd:
            twice.cwd = None  # keeps moving with every round
        self.state = twice

    def _while(self, node: Node, feed: Feed | None) -> None:
        parts = [c for c, field_name in _fields(node) if field_name == "condition"]
        body = node.child_by_field_name("body")
        self._loop([*parts, *([] if body is None else body.children)], feed)

    def _for(self, node: Node, feed: Feed | None) -> None:
        variable = node.child_by_field_name("variable")
        values = [c for c, field_name in _fields(node) if field_name == "value"]
        words = [self.word(v) for v in values]
        if variable is not None and self.source is not None:
            name = self.source.text(variable)
            known: list[Value] = []
            for word in words:
                if word.dynamic or not values:
                    self.state.variables[name] = None
                    break
                known += [(v, word.glob) for v in word.values]
            else:
                self.state.variables[name] = tuple(known) if values else None
        body = node.child_by_field_name("body")
        self._loop([] if body is None else list(body.children), feed)

    def _c_for(self, node: Node, feed: Feed | None) -> None:
        self._substitutions(node, skip=node.child_by_field_name("body"))
        for name in _assigned_names(node):
            self.state.variables[name] = None
        body = node.child_by_field_name("body")
        self._loop([] if body is None else list(body.children), feed)

    def _case(self, node: Node, feed: Feed | None) -> None:
        value = node.child_by_field_name("value")
        if value is not None:
            self.word(value)
        branches: list[list[Node]] = []
        for item in node.named_children:
            if item.type != "case_item":
                continue
            body = []
            for child, field_name in _fields(item):
                if field_name == "value":
                    self.word(child)
                else:
                    body.append(child)
            branches.append(body)
        self._branches(branches, feed, exhaustive=False)

    def _test(self, node: Node, feed: Feed | None) -> None:
        self._substitutions(node)

    def _define(self, node: Node, feed: Feed | None) -> None:
        """A function definition: its body is judged here, in a copy of the state (it runs later,
        if ever; a call judges it again where it is called)."""
        name, body = node.child_by_field_name("name"), node.child_by_field_name("body")
        if name is None or body is None or self.source is None:
            return
        self.current = None
        function = self.source.text(name)
        self._apart(lambda: self._function_body(function, self.source, body), spawn=False)

    def _function_body(self, name: str, source: Source | None, body: Node) -> None:
        saved = self.source
        self.calls.append((name, self.spawning))
        self.source = source
        try:
            self._statement(body, None)
        finally:
            self.calls.pop()
            self.source = saved

    def call_function(self, name: str) -> None:
        """A call of a shell function this script defines: its body runs in this shell."""
        entered = next((spawning for called, spawning in self.calls if called == name), None)
        if entered is not None:
            if self.spawning > entered:
                self.add(
                    "critical",
                    f"shell function {name!r} starts copies of itself in pipes "
                    "or in the background (fork bomb)",
                )
            else:
                self.add("high", f"shell function {name!r} calls itself", held_by=BOTH)
            return
        if len(self.calls) >= MAX_DEPTH:
            self.add("unknown", f"shell function {name!r}: calls nested too deeply to analyse")
            return
        source, node = self.scope.functions[name]
        body = node.child_by_field_name("body")
        if body is not None:
            current = self.current
            self._function_body(name, source, body)
            self.current = current

    def define_alias(self, name: str, value: str | None) -> None:
        self.scope.aliases[name] = value

    # --- words, substitutions, redirections ------------------------------------------------

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
            self._apart(lambda: self._statements(node.children, None), spawn=True)
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
            else:
                self._substitutions(child)

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
                inner = [c for c in node.named_children if c.type in _REDIRECTS]
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
        targets = [c for c, field_name in _fields(node) if field_name == "destination"]
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
        if redirect.op in _WRITE_OPS:
            self.write(target, f"redirect {redirect.op}", verb=_WRITE_OPS[redirect.op])
        elif redirect.op in _READ_OPS:
            self.read(target, f"redirect {redirect.op}")

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
        try:
            parsed = parse(text)
        except TooLarge as exc:
            self.add("unknown", str(exc))
            return
        saved = self.source
        self.source = parsed
        try:
            self._substitutions(parsed.root)
        finally:
            self.source = saved

    # --- simple commands -------------------------------------------------------------------

    def _command(self, node: Node, feed: Feed | None, extra: list[Node]) -> None:
        words: list[Word] = []
        env: dict[str, Word] = {}
        redirects = list(extra)
        for child, field_name in _fields(node):
            if child.type == "variable_assignment" and not words:
                name, value = self._assignment(child)
                if name is not None:
                    env[name] = value
            elif child.type in _REDIRECTS or field_name == "redirect":
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
        self.judge(self, inv)

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


_HANDLERS: dict[str, Callable[[Walker, Node, Feed | None], None]] = {
    "program": Walker._sequence,
    "compound_statement": Walker._compound,
    "do_group": Walker._sequence,
    "subshell": Walker._subshell,
    "list": Walker._list,
    "pipeline": Walker._pipeline,
    "negated_command": Walker._negated,
    "redirected_statement": Walker._redirected,
    "if_statement": Walker._if,
    "while_statement": Walker._while,
    "for_statement": Walker._for,
    "c_style_for_statement": Walker._c_for,
    "case_statement": Walker._case,
    "test_command": Walker._test,
    "function_definition": Walker._define,
    "variable_assignment": Walker._assignments,
    "variable_assignments": Walker._assignments,
    "declaration_command": Walker._declaration,
    "unset_command": Walker._unset,
}


def _rightmost(node: Node) -> Node:
    """The last statement of a list or pipeline (where a trailing redirection belongs)."""
    while node.type in ("list", "pipeline"):
        named = [c for c in node.named_children if c.type != "comment"]
        if not named:
            break
        node = named[-1]
    return node


def _fields(node: Node) -> list[tuple[Node, str | None]]:
    """The named children with their field names, in order."""
    return [
        (child, node.field_name_for_child(index))
        for index, child in enumerate(node.children)
        if child.is_named
    ]


def _split_at(node: Node, keyword: str) -> tuple[list[Node], list[Node]]:
    children = list(node.children)
    at = next((i for i, c in enumerate(children) if c.type == keyword), len(children))
    return children[:at], children[at + 1 :]


def _assigned_names(node: Node) -> set[str]:
    names: set[str] = set()
    for child in node.named_children:
        if child.type == "variable_name" and child.text is not None:
            names.add(child.text.decode())
        names |= _assigned_names(child)
    return names


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
