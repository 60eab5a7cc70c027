"""Where backups live: a local directory or an S3-compatible bucket, read-only.

`roots.open_root` names the root; `ranged.RangedReader` reads one object with
parallel ranged GETs; `stream_tail.read_stream_tail` reads an xbstream's
metadata members from its last bytes.
"""
