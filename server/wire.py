"""Wire names: every method, notification and server request agentd speaks, and the error codes it
answers with. One source for the server, the CLI and the tests (no pygls or pydantic here)."""

from __future__ import annotations

# -- client -> server requests (each also a workspace/executeCommand command) -----------------
RUN_GOAL = "agent/runGoal"
PLAN = "agent/plan"
CANCEL = "agent/cancel"
LIST_GOALS = "agent/listGoals"
TRACE = "agent/trace"
HEALTH = "agent/health"
SHOW_OUTPUT = "agent/showOutput"
REVERT = "agent/revert"
METHODS = (RUN_GOAL, PLAN, CANCEL, LIST_GOALS, TRACE, HEALTH, SHOW_OUTPUT, REVERT)

# -- server -> client notifications and requests -----------------------------------------------
RUN_STARTED = "agent/runStarted"
PLAN_READY = "agent/planReady"
STEP_UPDATED = "agent/stepUpdated"
OUTPUT_DELTA = "agent/outputDelta"
NOTIFICATIONS = (RUN_STARTED, PLAN_READY, STEP_UPDATED, OUTPUT_DELTA)
REQUEST_PERMISSION = "agent/requestPermission"
SERVER_REQUESTS = (REQUEST_PERMISSION,)

# -- error codes (JSON-RPC 2.0 and LSP) -------------------------------------------------------
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
SERVER_NOT_INITIALIZED = -32002
REQUEST_CANCELLED = -32800
REQUEST_FAILED = -32803  # LSP: a valid request that failed (the language model could not plan)
