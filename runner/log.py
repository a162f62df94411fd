"""``<out>/run.log``: one structured JSON line per event, cheap enough for every request.

Each line is ``{"ts": ISO-8601 UTC, "event": name, **fields}``. The scheduler logs every request
and every state change, so :meth:`RunLog.event` only renders the line and appends it to an
in-memory buffer; a writer thread owned by :func:`open_run_log`
writes the buffer to the file at least every second and on close. The event loop therefore
never waits on the disk, and the file is never fsynced: the log is a diagnostic, the state DB is
the checkpoint. What the writer has written survives a ``kill -9`` (it is in the OS's page
cache), so a killed process loses at most the last second of lines; a power loss can lose what
the OS had not yet written back.

The lines are rendered here, not by structlog: all its JSONRenderer did was call our encoder,
and importing structlog (its ``dev`` module imports rich, pygments and attrs) cost every run
45 to 120 ms of start-up, depending on the day's machine speed. The line shape is the one
structlog's renderer wrote.

Secrets never reach the file: every field value is scrubbed of bearer tokens, ``sk-...`` style
keys, JWTs and URL query strings (signed image URLs carry credentials there), and fields named
like credentials (``authorization``, ``api_key``, ...) are redacted whole.
"""

from __future__ import annotations

import enum
import functools
import json
import re
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

REDACTED = "[REDACTED]"
FLUSH_INTERVAL_S = 0.5  # half the promised second: a write itself takes time
# A burst this large wakes the writer early, so a flood of events cannot pile up in memory.
WAKE_AT_LINES = 10_000

_SECRETS = (
    # the lookbehind keeps ids such as "task-0123456789" intact
    (re.compile(r"(?<![A-Za-z0-9])sk[-_][A-Za-z0-9_\-]{8,}"), REDACTED),
    # 8+ characters: "a bearer of gifts" in a prompt is not a credential
    (re.compile(r"\b(Bearer|bearer|BEARER)\s+[A-Za-z0-9._~+/=\-]{8,}"), r"\1 " + REDACTED),
    (re.compile(r"\beyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*"), REDACTED),
    (re.compile(r"(://)[^/\s@]*@"), r"\1" + REDACTED + "@"),  # user:password@host
    (re.compile(r"(\w://[^\s?#]*)\?[^\s#]*"), r"\1?" + REDACTED),
)
# Names ending so: "api_key", "x-api-key", "client_secret", "access_token", "set-cookie"; not
# "input_tokens" or "api_key_env" (the variable's name is no secret, and helps debugging).
_SECRET_NAME = re.compile(r"(?i)(^|[-_])(authorization|api[-_]?key|secret|password|token|cookie)$")
_PLAIN = (int, float, bool, type(None))  # JSON scalars, passed through as they are
_ENCODER = json.JSONEncoder(separators=(",", ":"), default=str)  # built once: dumps() rebuilds


def scrub_text(text: str) -> str:
    """``text`` with every credential-looking part replaced by ``[REDACTED]``."""
    if not _suspect(text):
        return text
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


def _suspect(text: str) -> bool:
    """Whether ``text`` may hold a secret: a superset of what the patterns match.

    Substring tests cost half of one regex search, and most values (ids, states) pass them.
    """
    return (
        "?" in text
        or "sk-" in text
        or "sk_" in text
        or "eyJ" in text
        or "earer" in text
        or "EARER" in text
        or "@" in text
    )


def scrub_value(value: Any) -> Any:
    """A JSON-ready copy of ``value`` with secrets scrubbed at any depth.

    Objects that are not JSON types are logged as their ``str`` (Enums by value), scrubbed too:
    an exception's message may quote a key or a signed URL.
    """
    cls = type(value)
    if cls is str:
        return scrub_text(value)
    if cls in _PLAIN:
        return value
    if isinstance(value, str):
        return scrub_text(value)  # StrEnum members: written as their value
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, enum.Enum):
        return scrub_value(value.value)
    if isinstance(value, Mapping):
        return scrub_fields(value)
    if isinstance(value, list | tuple | set | frozenset):
        return [scrub_value(v) for v in value]
    return scrub_text(str(value))


def scrub_fields(fields: Mapping[Any, Any]) -> dict[str, Any]:
    """Fields with credential-named entries redacted whole and every value scrubbed."""
    return _scrub_into({}, fields)


def _scrub_into(scrubbed: dict[str, Any], fields: Mapping[Any, Any]) -> dict[str, Any]:
    for key, value in fields.items():
        name = key if type(key) is str else str(key)
        cls = type(value)
        if _is_secret_name(name):
            scrubbed[name] = REDACTED
        elif cls in _PLAIN:
            scrubbed[name] = value
        elif cls is str:  # most fields; scrub_text returns a clean one at once
            scrubbed[name] = scrub_text(value)
        else:
            scrubbed[name] = scrub_value(value)
    return scrubbed


@functools.lru_cache(maxsize=1024)  # the same few field names come back on every event
def _is_secret_name(name: str) -> bool:
    return _SECRET_NAME.search(name) is not None


class _Clock:
    """ISO-8601 UTC timestamps with microseconds; the part up to the second is formatted once
    per second: ``datetime.now(UTC).isoformat()`` would cost twice as much on every event."""

    def __init__(self) -> None:
        # one attribute, so a thread never reads one second's number with another's text
        self._cached: tuple[int, str] = (-1, "")

    def now(self) -> str:
        t = time.time()
        second = int(t)
        cached_second, prefix = self._cached
        if second != cached_second:
            prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._cached = (second, prefix)
        return f"{prefix}.{int((t - second) * 1_000_000):06d}Z"


class _Render:
    """One line: ``ts`` and ``event`` first (what a reader scans for), then the fields, scrubbed."""

    def __init__(self) -> None:
        self._clock = _Clock()

    def __call__(self, name: str, fields: Mapping[str, Any]) -> str:
        line: dict[str, Any] = {"ts": self._clock.now(), "event": name}
        return _ENCODER.encode(_scrub_into(line, fields))


class _LineBuffer:
    """Rendered lines, collected for the writer thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.lines: list[str] = []
        self.wake = threading.Event()

    def info(self, line: str) -> None:
        with self.lock:
            self.lines.append(line)
            pending = len(self.lines)
        if pending == WAKE_AT_LINES:
            self.wake.set()

    def take(self) -> list[str]:
        with self.lock:
            lines, self.lines = self.lines, []
        return lines


class RunLog:
    """An open run.log. :meth:`event` is safe from the event loop and from threads."""

    def __init__(self, file: IO[str], flush_interval_s: float = FLUSH_INTERVAL_S) -> None:
        self._file = file
        self._interval = flush_interval_s
        self._sink = _LineBuffer()
        self._render = _Render()
        self._closed = threading.Event()
        self._error: OSError | None = None
        # daemon: should close() never run (a crash in the interpreter's shutdown), a parked
        # writer must not keep the process alive
        self._writer = threading.Thread(target=self._write_loop, name="run.log", daemon=True)

    def event(self, name: str, /, **fields: Any) -> None:
        """Log one line. ``ts`` and ``event`` are reserved: the line's own keys.

        Raises ``ValueError`` once the log is closed, like a closed file.
        """
        if self._closed.is_set():
            raise ValueError("run.log is closed")
        self._sink.info(self._render(name, fields))

    def start(self) -> None:
        """Start the writer thread; :func:`open_run_log` does, and pairs it with :meth:`close`."""
        self._writer.start()

    def close(self) -> None:
        """Write every buffered line and close the file; raise if a write ever failed."""
        self._closed.set()
        self._sink.wake.set()
        self._writer.join()
        self._file.close()
        if self._error is not None:
            raise self._error

    def _write_loop(self) -> None:
        while not self._closed.is_set():
            self._sink.wake.wait(self._interval)
            self._sink.wake.clear()
            self._write_pending()
        self._write_pending()  # lines logged while close() was being called

    def _write_pending(self) -> None:
        lines = self._sink.take()
        if not lines or self._error is not None:
            return  # after a failed write (disk full) lines are dropped: close() reports it
        try:
            self._file.write("\n".join(lines) + "\n")
            self._file.flush()
        except OSError as exc:
            self._error = exc


@contextmanager
def open_run_log(path: Path, flush_interval_s: float = FLUSH_INTERVAL_S) -> Iterator[RunLog]:
    """Open ``path`` for appending (a resumed run adds to its log) and log into it.

    The writer thread lives exactly as long as the ``with`` block; leaving it writes what is
    buffered and closes the file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    # ensure_ascii JSON is plain ASCII; the encoding is set only so no locale can interfere
    with path.open("a", encoding="utf-8") as file:
        log = RunLog(file, flush_interval_s)
        log.start()
        try:
            yield log
        finally:
            log.close()
