"""One runner per output directory.

An exclusive ``flock`` on ``<out>/.runner.lock`` is held for the whole run. The kernel drops it when
the holder dies, even by SIGKILL, so a stale lock is taken over without any guessing from PIDs; the
PID written into the file is only there to name the holder in the error message.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

LOCK_NAME = ".runner.lock"


class DirectoryLocked(Exception):
    """Another live process holds the output directory."""

    def __init__(self, path: Path, pid: str) -> None:
        super().__init__(
            f"{path.parent} is in use by another runner (pid {pid}); wait for it or stop it"
        )
        self.pid = pid


class DirLock:
    """Context manager holding the output directory's lock."""

    def __init__(self, out_dir: Path) -> None:
        self.path = out_dir / LOCK_NAME
        self._fd: int | None = None

    def __enter__(self) -> DirLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise DirectoryLocked(self.path, holder) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing releases the flock
            self._fd = None


def is_locked(out_dir: Path) -> bool:
    """True while a runner holds the directory (for `runner status`); takes nothing."""
    path = out_dir / LOCK_NAME
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False
