"""The read-only methods: agent/listGoals, agent/trace, agent/health."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from server.lsp.rpc import validate

if TYPE_CHECKING:
    from server.lsp.server import AgentServer


class Queries:
    def __init__(self, server: AgentServer) -> None:
        self.server = server

    async def list_goals(self, params: Any) -> dict[str, Any]:
        from engine.models import ListGoalsParams, ListGoalsResult
        from engine.workspace import resolve_workspace

        request = validate(ListGoalsParams, params)
        default = self.server.default_workspace()
        # Without any workspace the built-in goals are still worth listing.
        workspace = (
            resolve_workspace(request.workspace, default)
            if request.workspace is not None or default is not None
            else None
        )
        goals = self.server.engine.list_goals(workspace)
        return ListGoalsResult(goals=goals).wire()

    async def trace(self, params: Any) -> dict[str, Any]:
        from engine.models import TraceParams, TraceResult
        from engine.workspace import resolve_workspace

        request = validate(TraceParams, params)
        workspace = resolve_workspace(request.workspace, self.server.default_workspace())
        events = self.server.engine.read_trace(workspace, request.run_id)
        return TraceResult(run_id=request.run_id, events=events).wire()

    async def health(self, params: Any) -> dict[str, Any]:
        from engine.models import HealthParams, HealthResult

        validate(HealthParams, params)
        report = dict(self.server.engine.health())
        # What the server adds: how approvals reach the user, where runs go by default.
        report["approvals"] = self.server.approvals.mechanism()
        default = self.server.default_workspace()
        report["workspace"] = str(default) if default is not None else None
        return HealthResult.model_validate(report).wire()
