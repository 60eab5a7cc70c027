"""Table-level recovery into a running server, and flashback of bad DML.

One table was dropped or emptied: restore the backup into a throwaway server
(the drill machinery), then bring just that table into production under a new
name (transportable tablespace, partition exchange, or a logical copy where
files are unsafe). Production is never stopped. DML-only damage can instead be
reversed from the binlog (flashback) when nothing touched the rows since.
"""
