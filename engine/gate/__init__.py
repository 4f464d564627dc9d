"""The gate: gives every step a risk and a decision (allow, ask, deny) before anything runs.

``rules.RuleGate`` is the Gate (``base``: its vocabulary). For a command, ``syntax`` parses it
with tree-sitter-bash, ``walk`` visits every statement and ``commands`` every simple command with
the shell's state (``analysis``: what the walk knows and records, ``words``: word values,
``places``: where paths point, ``variables``: environment variables), and ``tools`` judges each
command by what it is known to do. ``decide`` turns the findings into a decision for the session
(mode, sandbox, ``policy`` rules). See docs/gate.md.
"""
