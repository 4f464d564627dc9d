"""agentd's engine: goal -> plan -> gate -> execute -> verify -> trace. Pure asyncio, no LSP."""

__version__ = "0.1.0"
