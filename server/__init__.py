"""agentd's pygls adapter: JSON-RPC methods in, engine events out as LSP messages.

It stays thin: it translates, the engine decides. Nothing heavy is imported here so that
``agentd serve`` answers ``initialize`` about as fast as a bare pygls server.

- ``app``: the LanguageServer subclass and every handler registration, in one place
- ``rpc``: params validation, error mapping, the request/command double registration
- ``runs``: runGoal/plan/cancel, progress and the live notifications of a run
- ``output``: output coalescing (at most ~20 ``agent/outputDelta`` a second per run)
- ``approvals``: ``agent/requestPermission`` or ``window/showMessageRequest``
- ``diagnostics``: trace and source-file diagnostics at the end of a run
- ``settings``: initializationOptions / didChangeConfiguration -> EngineConfig
- ``serve``: transports (stdio, TCP, WebSocket) and logging
"""
