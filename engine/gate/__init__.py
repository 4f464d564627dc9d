"""The gate: gives every step a Risk and a Decision before anything runs. See base.Gate.

``rules.RuleGate`` is the gate: ``shell`` parses a command line, ``analysis`` walks it, the
tables in ``commands`` and the checks in ``file_checks`` and ``exec_checks`` judge each command.
"""
