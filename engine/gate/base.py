"""The gate's vocabulary: the Gate interface, what it is given (GateContext) and what it answers
(Verdict), and the Finding that every check records."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from engine.models import Decision, Risk, RiskLevel, RunCliStep, WriteFileStep
from engine.vocab import SessionMode as SessionMode, Widening as Widening

if TYPE_CHECKING:
    from engine.gate.policy import Policy

LEVEL_ORDER: dict[RiskLevel, int] = {"low": 0, "medium": 1, "high": 2, "unknown": 2, "critical": 3}

SandboxKind = Literal["bwrap", "landlock"]
Sandbox = Literal["off", "bwrap", "landlock"]


def sandbox_kind(in_effect: str) -> Sandbox:
    """The gate's word for the sandbox in effect (``EngineConfig.sandbox_in_effect``); anything
    it does not know holds nothing, so it counts as ``off``."""
    return "bwrap" if in_effect == "bwrap" else "landlock" if in_effect == "landlock" else "off"


def names(text: str) -> frozenset[str]:
    """The words of ``text``: tables of names read best as one string."""
    return frozenset(text.split())


BOTH: frozenset[SandboxKind] = frozenset({"bwrap", "landlock"})
BWRAP: frozenset[SandboxKind] = frozenset({"bwrap"})
NONE: frozenset[SandboxKind] = frozenset()


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing the gate found out about a step, with the level it deserves.

    ``held_by`` names the sandboxes that contain the harm (a sandboxed session may then allow a
    ``high`` finding); ``revertible`` marks a change inside the workspace that a checkpoint can
    undo (a ``trusted`` session allows it); ``changes`` marks anything that changes files or
    state (a ``readOnly`` session asks); ``widen`` is what the step needs beyond the default
    sandbox; ``command`` indexes the parsed command it is about (for policy rules).
    """

    level: RiskLevel
    reason: str
    command: int | None = None
    held_by: frozenset[SandboxKind] = NONE
    revertible: bool = False
    changes: bool = False
    widen: frozenset[Widening] = frozenset()

    @property
    def shown(self) -> str:
        return f"{self.reason} ({self.level})"


@dataclass(frozen=True, slots=True)
class Command:
    """One command of a step as parsed: what policy rules match and "allow always" saves."""

    tool: str  # the program's name (a path's last part), after wrappers such as env or sudo
    subcommand: str | None  # e.g. git's "push", npm's "ci"; None for tools without one
    options: frozenset[str]  # long options as written (before any "="), short ones one by one
    paths: tuple[str, ...]  # paths it touches: workspace-relative inside, absolute outside
    text: str  # the command's words, for messages


@dataclass(frozen=True, slots=True)
class GateContext:
    """What the gate knows about the session besides the step. The defaults (no sandbox,
    default mode, no policy files) are how agentd ran before sandboxes and policies."""

    sandbox: Sandbox = "off"
    mode: SessionMode = "default"
    policy: Policy | None = None  # rules from the policy files (engine.gate.policy.load_policy)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The gate's answer for one step.

    ``relied_on`` says what a decision other than the level's plain default rests on (the
    sandbox, a policy rule, the session mode); ``widenings`` is what the step needs beyond the
    default sandbox, granted when the step runs; ``commands`` are the parsed commands, and
    ``asking`` the indexes of those that made the step ask (what "allow always" would save);
    ``changes`` is False only for a step understood completely as reading (a run of such steps
    needs no checkpoint).
    """

    risk: Risk
    decision: Decision
    relied_on: tuple[str, ...] = ()
    widenings: frozenset[Widening] = frozenset()
    commands: tuple[Command, ...] = ()
    asking: tuple[int, ...] = field(default=())
    changes: bool = True


class Gate(Protocol):
    """Assesses one step in a workspace. Must be fast, pure and never raise for odd input:
    anything it cannot understand is at least ``high`` risk."""

    def assess(
        self,
        step: RunCliStep | WriteFileStep,
        workspace: Path,
        context: GateContext | None = None,
    ) -> Verdict: ...
