"""The gate: gives every step a Risk and a Decision before anything runs. See base.Gate."""
