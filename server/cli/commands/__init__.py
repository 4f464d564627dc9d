"""The `agentd` commands, one module each: ``add(commands)`` defines its parser (with examples)
and sets ``handler``, the function that runs it. A module imports only argparse-level things at
the top; what a command needs is imported when it runs (`agentd serve` start-up is benchmarked)."""

from __future__ import annotations

from server.cli.commands import (
    completion,
    config,
    doctor,
    goals,
    policy,
    revert,
    run,
    runs,
    serve,
    trace,
)

# In the order `agentd --help` lists them.
COMMANDS = (run, runs, trace, revert, goals, policy, doctor, config, serve, completion)
