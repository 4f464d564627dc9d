"""Execution: the DAG scheduler, the process runner (where a sandbox will wrap each command) and
confined file writes."""
