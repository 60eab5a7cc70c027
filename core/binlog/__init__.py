"""Binary logs: read them fast, lay out a timeline from a backup position, resolve stop points."""
