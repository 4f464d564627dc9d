"""The walk over a parsed script: every node (lists, pipelines, subshells, substitutions,
here-documents, compound commands, functions, assignments, redirections), with the shell state
following the control flow: a branch that may or may not run leaves either state behind.

Each simple command becomes an ``Invocation`` for the tool checks (``engine.gate.tools``).
Shell functions are judged where they are defined and again where they are called (in the
caller's state); a function or alias named like a command is judged as both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING

from engine.gate.analysis import MAX_DEPTH, Feed, State
from engine.gate.base import BOTH
from engine.gate.commands import REDIRECTS, Commands, Scope, fields
from engine.gate.syntax import Source, TooLarge, error_text, parse
from engine.gate.words import Value, Word

if TYPE_CHECKING:
    from tree_sitter import Node

__all__ = ["Walker"]

MAX_VISITS = 20_000  # statements walked (functions are walked at every call): more is unknown


class Walker(Commands):
    """Walks a script's statements; see ``engine.gate.commands`` for the simple commands."""

    # --- scripts ---------------------------------------------------------------------------

    def analyse(self, text: str) -> None:
        self._parse_and_walk(text)

    def script(self, text: str, what: str, arguments: list[Word] | None = None) -> None:
        """A script run by another shell process: a fresh scope and fresh variables, but for
        its positional parameters (``sh -c 'rm -rf "$1"' sh ~``: ``arguments`` are $0, $1 ...)."""
        if not self._deeper(what):
            return
        saved = (self.scope, self.state.variables, self.source)
        self.scope, self.state.variables = Scope(), {}
        for index, word in enumerate((arguments or [])[:10]):
            known = None if word.dynamic else tuple((v, word.glob) for v in word.values)
            self.state.variables[str(index)] = known
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
        if b"(" in source.data or b"function" in source.data:  # else it defines none
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
        redirects = [c for c in node.named_children if c.type in REDIRECTS]
        piped: list[Node] = []
        after: list[Node] = []
        for redirect in redirects:
            if redirect.type != "heredoc_redirect":
                continue
            for child, field_name in fields(redirect):
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
        for child, field_name in fields(node):
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
        parts = [c for c, field_name in fields(node) if field_name == "condition"]
        body = node.child_by_field_name("body")
        self._loop([*parts, *([] if body is None else body.children)], feed)

    def _for(self, node: Node, feed: Feed | None) -> None:
        variable = node.child_by_field_name("variable")
        values = [c for c, field_name in fields(node) if field_name == "value"]
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
            for child, field_name in fields(item):
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
