"""Planners turn a goal into a Plan. See base.Planner for the interface."""
