"""Where backups live: a local directory or an S3-compatible bucket, read-only.

`roots.open_root` names the root; `ranged.RangedReader` reads one object with
parallel ranged GETs (the inventory's `stream_tail` reads a stream's metadata
members from its last bytes through it).
"""
