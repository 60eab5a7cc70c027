"""Typed errors raised by the core library.

Every error carries a one-line message an operator can act on: it names the
file (and offset, where there is one) and the problem. Secrets never appear in
messages.
"""

from __future__ import annotations


class XtraRestoreError(Exception):
    """Base class for every error the core raises on purpose."""


class BackupFormatError(XtraRestoreError):
    """A backup file is not what its name says, is truncated or is corrupt."""


class ChecksumError(BackupFormatError):
    """A chunk's stored checksum does not match its data."""


class KeyFileError(XtraRestoreError):
    """An encryption key file is unreadable or has the wrong length."""


class WrongKeyError(XtraRestoreError):
    """Data decrypted with the given key fails its integrity check."""


class UnsafePathError(BackupFormatError):
    """An archive member would be written outside the target directory."""


class BackupRootError(XtraRestoreError):
    """The backup root itself cannot be read (missing, not a directory, no permission)."""


class ChainError(XtraRestoreError):
    """A restore point is not a valid prefix of an LSN chain."""


class ToolNotFoundError(XtraRestoreError):
    """A required external program (mariabackup, mbstream, …) is missing."""


class SandboxError(XtraRestoreError):
    """A throwaway server could not be set up, started or stopped."""


class ServiceError(XtraRestoreError):
    """The database service could not be stopped or started as asked."""


class StepFailedError(XtraRestoreError):
    """A restore step ended with a non-zero status or without its success line."""


class OutputError(XtraRestoreError):
    """Extracted files could not be written (disk full, permissions, an unsafe target)."""


class OperationCancelled(XtraRestoreError):
    """The operator cancelled a long operation; its partial output was removed."""


class UnsupportedFormatError(BackupFormatError):
    """A member uses a variant the native extractor does not handle; the vendor tools may."""


class LockBusyError(XtraRestoreError):
    """Another restore holds the host-wide lock."""


class PreconditionError(XtraRestoreError):
    """A restore precondition does not hold; nothing was touched."""


class VerifyError(XtraRestoreError):
    """The restored server cannot be reached or fails a check."""


class PrivilegeError(XtraRestoreError):
    """sudo refused us (wrong password, no sudo rights, sudo missing)."""


class DemoError(XtraRestoreError):
    """The demo work directory cannot be used."""


class DrillFailed(XtraRestoreError):
    """A drill ran and failed; its report says why."""


class BinlogError(XtraRestoreError):
    """A binary log cannot be read, or the binlogs cannot take a restore where it was asked to go."""


class BinlogCorruptError(BinlogError):
    """A binlog file is truncated, fails its CRC32 or holds an event that cannot be what it says."""


class BinlogEncryptedError(BinlogError):
    """A binlog file is encrypted (encrypt_binlog): only the server that wrote it can read it."""


class BinlogOffError(BinlogError):
    """A backup records no binlog position: binary logging was off on the server it was taken from."""


class StopPointError(BinlogError):
    """A stop point is malformed, or lies where the available binlogs cannot take the restore."""


class TableTransportError(XtraRestoreError):
    """A table could not be brought into production (import refused, copy failed, rows differ)."""


class FlashbackRefused(XtraRestoreError):
    """The transactions cannot be reversed safely from the binlog (DDL, minimal images, later changes)."""


class SettingsError(XtraRestoreError):
    """A settings file (config.toml) cannot be read, or holds something it must not (key bytes)."""
class ReplayError(BinlogError):
    """The restored server stopped applying the binlogs (an SQL error, the server went away, a failed pipe)."""
