"""Binary logs: read them fast, lay out a timeline from a backup's position, resolve stop points.

The room imports only the standard library and `core.errors`, so the CLI,
the console and drills can all build on it.
"""

from .events import Gtid, Statement, TableChange, Transaction, format_gtid_list, parse_gtid_list
from .reader import BinlogFile, read_binlog
from .sources import BinlogPosition, BinlogSet, open_binlog_sources, parse_binlog_info, read_backup_position
from .stoppoint import StopPoint, Until, parse_until, resolve_stop_point
from .timeline import GAP_CODES, FileSpan, Gap, NotableEvent, Timeline, build_timeline

__all__ = [
    "GAP_CODES",
    "BinlogFile",
    "BinlogPosition",
    "BinlogSet",
    "FileSpan",
    "Gap",
    "Gtid",
    "NotableEvent",
    "Statement",
    "StopPoint",
    "TableChange",
    "Timeline",
    "Transaction",
    "Until",
    "build_timeline",
    "format_gtid_list",
    "open_binlog_sources",
    "parse_binlog_info",
    "parse_gtid_list",
    "parse_until",
    "read_backup_position",
    "read_binlog",
    "resolve_stop_point",
]
