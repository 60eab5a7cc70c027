"""The restore engine: the plan, its steps, preflight checks, the runner, journal and recovery."""
