"""Readers and writers for backup archive formats."""
