"""Atomic, change-aware file writes for the run's outputs.

Readers (a user's ``jq``, a Makefile, a dataset loader) must never see a half-written file, and a
run that changes nothing must leave every output untouched, mtime included, because make-driven
pipelines rebuild on mtime. Both properties hold for the in-memory form (:func:`write_atomic`) and
the streaming form (:class:`AtomicWriter`) used for files too large to hold in memory.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Self

_CHUNK = 1 << 20  # read size when comparing with an existing file
_BUFFER = 1 << 20  # write buffer of the streaming form: few syscalls for millions of rows


def write_atomic(path: Path, data: bytes, *, sync: bool = True) -> bool:
    """Replace ``path`` with ``data`` atomically; return False (file untouched) if already equal.

    ``sync=False`` skips the fsyncs: for callers that make many files durable at once with
    :func:`sync_filesystem` before relying on them (one call instead of two per file).
    """
    if _has_bytes(path, data):
        return False
    tmp, fileobj = _open_temp(path)
    try:
        with fileobj:
            fileobj.write(data)
            fileobj.flush()
            if sync:
                os.fsync(fileobj.fileno())
        os.replace(tmp, path)
        if sync:
            _fsync_dir(path.parent)
    except BaseException:
        _discard(tmp)
        raise
    return True


class AtomicWriter:
    """Stream bytes into a temp file, then rename it over ``path`` only if the content changed.

    ``with AtomicWriter(path) as f: f.write(chunk)``. On a clean exit the bytes written are
    compared with the existing file (size first, then SHA-256), and the temp file either replaces
    it or is discarded. On an exception the temp file is always discarded and the target is left
    as it was. ``changed`` tells which happened.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.changed = False
        self._tmp: Path | None = None
        self._file: BinaryIO | None = None
        self._hash = hashlib.sha256()
        self._size = 0

    def __enter__(self) -> Self:
        self._tmp, self._file = _open_temp(self.path)
        return self

    def write(self, data: bytes) -> int:
        """Append ``data``; returns the number of bytes written."""
        if self._file is None:
            raise RuntimeError("AtomicWriter.write() outside its `with` block")
        self._file.write(data)
        self._hash.update(data)
        self._size += len(data)
        return len(data)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        tmp, fileobj = self._tmp, self._file
        self._tmp, self._file = None, None
        if tmp is None or fileobj is None:
            return
        try:
            self.changed = exc_type is None and self._finish(tmp, fileobj)
        finally:
            fileobj.close()
            _discard(tmp)  # a no-op once renamed

    def _finish(self, tmp: Path, fileobj: BinaryIO) -> bool:
        """Rename the temp file over the target unless the target already holds these bytes."""
        if _has_digest(self.path, self._size, self._hash.digest()):
            return False
        _flush_to_disk(fileobj)
        fileobj.close()
        _commit(tmp, self.path)
        return True


def _open_temp(path: Path) -> tuple[Path, BinaryIO]:
    """Create a hidden temp file beside ``path``: same filesystem, so the rename is atomic."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    # mode 0o666 lets the umask decide, as for any file the user's tools create
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        return tmp, os.fdopen(fd, "wb", buffering=_BUFFER)
    except BaseException:
        os.close(fd)
        _discard(tmp)
        raise


def _flush_to_disk(fileobj: BinaryIO) -> None:
    fileobj.flush()
    os.fsync(fileobj.fileno())


def _commit(tmp: Path, path: Path) -> None:
    """Rename into place, then fsync the directory so the rename itself survives a crash."""
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    try:
        fd = os.open(directory, flags)
    except OSError:  # platforms that cannot open a directory have nothing to sync
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _discard(tmp: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()


def _has_bytes(path: Path, data: bytes) -> bool:
    """True if ``path`` is a regular file holding exactly ``data``."""
    try:
        if not path.is_file() or path.stat().st_size != len(data):
            return False
        return path.read_bytes() == data
    except OSError:
        return False


def _has_digest(path: Path, size: int, digest: bytes) -> bool:
    """True if ``path`` is a regular file of ``size`` bytes whose SHA-256 is ``digest``."""
    try:
        if not path.is_file() or path.stat().st_size != size:
            return False
        hasher = hashlib.sha256()
        with path.open("rb") as existing:
            while chunk := existing.read(_CHUNK):
                hasher.update(chunk)
        return hasher.digest() == digest
    except OSError:
        return False


def sweep_temp_files(directory: Path) -> int:
    """Deletes temp files a killed writer left in ``directory``; only safe under the dir's lock."""
    removed = 0
    for tmp in directory.glob(".*.tmp"):
        _discard(tmp)
        removed += 1
    return removed


def sync_filesystem(directory: Path) -> None:
    """Makes every file written (and renamed) under ``directory``'s filesystem durable.

    Linux's syncfs(2) flushes one filesystem in one call; elsewhere, os.sync() flushes all.
    """
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        if _SYNCFS is None or _SYNCFS(fd) != 0:
            os.sync()
    finally:
        os.close(fd)


def _load_syncfs() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn: Callable[[int], int] = libc.syncfs
    except (OSError, AttributeError):
        return None
    return fn


_SYNCFS = _load_syncfs()
