"""Making written files durable with one syncfs() of their file system rather than an fsync per file."""

from __future__ import annotations

import os
from pathlib import Path


def syncfs(fd: int) -> None:
    """Flush the file system holding *fd*; sync() everything where syncfs() is missing or fails."""
    import ctypes

    try:
        done = ctypes.CDLL(None, use_errno=True).syncfs(fd) == 0
    except AttributeError:
        done = False
    if not done:
        os.sync()


def sync_tree(path: Path) -> None:
    """Flush the file system holding the directory *path*."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        syncfs(fd)
    finally:
        os.close(fd)


def sync_directory(path: Path) -> None:
    """fsync the directory *path* itself: its entries (a rename into or out of it) reach the disk."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
