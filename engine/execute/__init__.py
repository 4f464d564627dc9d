"""Execution: the DAG scheduler, the process runner (the sandbox wraps each command there),
confined file writes and checkpoints."""
