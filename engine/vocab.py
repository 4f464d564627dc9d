"""The protocol's words: every enumerated value on the wire, as ``Literal`` types.

No pydantic here, so the CLI and the server's light modules can use them without loading the
models; ``engine.models`` builds the wire shapes from them.
"""

from __future__ import annotations

from typing import Literal, get_args

StepKind = Literal["runCli", "writeFile"]
RiskLevel = Literal["low", "medium", "high", "critical", "unknown"]
Decision = Literal["allow", "ask", "deny"]
ApprovalMode = Literal["prompt", "allow", "reject"]
ApprovedBy = Literal["policy", "user", "run"]
RunStatus = Literal["succeeded", "failed", "cancelled", "planned"]
FinalStepStatus = Literal[
    "succeeded", "failed", "timedOut", "cancelled", "denied", "rejected", "skipped", "planned"
]
LiveStepStatus = Literal["pending", "awaitingApproval", "running"]
StepStatus = FinalStepStatus | LiveStepStatus
Stream = Literal["stdout", "stderr"]
PermissionKind = Literal["allow_once", "allow_always", "reject_once", "reject_always"]
PlannerSetting = Literal["auto", "stub", "openai"]
PlannerChoice = Literal["auto", "stub", "openai", "replay"]  # a request may also ask for a replay
Dialect = Literal["json_schema", "json_object", "text"]  # how a model server is asked for JSON
SessionMode = Literal["readOnly", "default", "trusted"]  # how freely a run's gate allows
Widening = Literal["network", "gitWrite"]  # what a step needs beyond the default sandbox

FINAL_STEP_STATUSES: frozenset[str] = frozenset(get_args(FinalStepStatus))
