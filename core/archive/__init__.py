"""Readers and writers for backup archive formats."""

DEFAULT_JOBS = 4
"""Streams extracted side by side: a chain rarely has more members worth overlapping (they share one buffer budget)."""
