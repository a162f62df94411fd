"""Atomic, change-aware file writes for the run's outputs.

Readers (a user's ``jq``, a Makefile, a dataset loader) must never see a half-written file, and a
run that changes nothing must leave every output untouched, mtime included, because make-driven
pipelines rebuild on mtime. Both properties hold for the in-memory form (:func:`write_atomic`) and
the streaming form (:class:`AtomicWriter`) used for files too large to hold in memory.
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Self

_CHUNK = 1 << 20  # read size when comparing with or copying from an existing file
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

    ``with AtomicWriter(path) as f: f.write(chunk)``. While the bytes written match the existing
    file they are only compared with it, not written: an unchanged million-row file costs one
    read. At the first difference the temp file starts as a kernel-side copy of the matching
    prefix. On a clean exit the temp file replaces the target; on an exception it is always
    discarded and the target is left as it was. ``changed`` tells which happened.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.changed = False
        self._entered = False
        self._old: BinaryIO | None = None  # the existing file, while it matches what was written
        self._matched = 0  # bytes of it that matched
        self._tmp: Path | None = None
        self._file: BinaryIO | None = None

    def __enter__(self) -> Self:
        self._entered = True
        self._old = _open_existing(self.path)
        if self._old is None:
            self._tmp, self._file = _open_temp(self.path)
        return self

    def write(self, data: bytes) -> int:
        """Append ``data``; returns the number of bytes written."""
        if not self._entered:
            raise RuntimeError("AtomicWriter.write() outside its `with` block")
        if self._old is not None:
            if self._old.read(len(data)) == data:
                self._matched += len(data)
                return len(data)
            self._diverge()
        assert self._file is not None  # set by _diverge() or __enter__
        self._file.write(data)
        return len(data)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._entered = False
        try:
            if exc_type is None:
                self.changed = self._finish()
        finally:
            self._close()

    def _diverge(self) -> None:
        """The output differs from the existing file: start the temp file with the prefix."""
        old, self._old = self._old, None
        assert old is not None
        with old:
            self._tmp, self._file = _open_temp(self.path)
            _copy_prefix(old, self._file, self._matched)

    def _finish(self) -> bool:
        """Rename the temp file over the target unless the target already holds these bytes."""
        if self._old is not None:
            if not self._old.read(1):
                return False  # every byte matched, and the old file has no more
            self._diverge()  # what was written is a strict prefix of the old file
        tmp, fileobj = self._tmp, self._file
        assert tmp is not None
        assert fileobj is not None
        _flush_to_disk(fileobj)
        fileobj.close()
        _commit(tmp, self.path)
        return True

    def _close(self) -> None:
        """Release everything; the temp file is gone unless it was renamed into place."""
        for stream in (self._old, self._file):
            if stream is not None:
                stream.close()
        if self._tmp is not None:
            _discard(self._tmp)  # a no-op once renamed
        self._old, self._file, self._tmp = None, None, None


def _open_existing(path: Path) -> BinaryIO | None:
    """The target for comparison, if it is a regular file that can be read."""
    try:
        if not path.is_file():
            return None
        return path.open("rb", buffering=_CHUNK)
    except OSError:
        return None


def _copy_prefix(source: BinaryIO, target: BinaryIO, size: int) -> None:
    """Copy the first ``size`` bytes of ``source`` into the new, still empty ``target``."""
    src, dst = source.fileno(), target.fileno()
    offset = 0
    try:
        while offset < size:
            copied = os.copy_file_range(src, dst, size - offset, offset)
            if copied == 0:
                break
            offset += copied
    except (AttributeError, OSError):  # no copy_file_range here, or not across these files
        pass
    target.seek(offset)  # through the buffered writer, so it knows where the copy ended
    source.seek(offset)
    while offset < size:
        chunk = source.read(min(_CHUNK, size - offset))
        if not chunk:
            raise OSError(f"{source.name}: shrank while being compared")
        target.write(chunk)
        offset += len(chunk)


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
    syncfs = _load_syncfs()
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        if syncfs is None or syncfs(fd) != 0:
            os.sync()
    finally:
        os.close(fd)


@functools.cache
def _load_syncfs() -> Callable[[int], int] | None:
    import ctypes  # here, not at the top: most commands never sync a filesystem

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn: Callable[[int], int] = libc.syncfs
    except (OSError, AttributeError):
        return None
    return fn
