"""Progress for people: a live display on a terminal, plain lines everywhere else.

Under make, CI or cron the output is a log file, where a redrawn display is noise: there the
display prints one plain line every ``interval_s``. ``update`` is called often by the scheduler
and must stay cheap, so it only stores the snapshot and renders when a redraw or line is due.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Self, TextIO

if TYPE_CHECKING:
    from rich.console import Group
    from rich.live import Live

LIVE_REFRESH_S = 0.25  # a terminal redraw at most four times a second


@dataclass(frozen=True, slots=True)
class ProgressSnapshot:
    """The run's counters at one moment."""

    total: int
    done: int
    failed: int
    ambiguous: int
    in_flight: int
    pending: int
    images: int
    spent_usd: float
    elapsed_s: float
    images_per_min: float
    eta_s: float | None

    @property
    def finished(self) -> int:
        """Items that reached an end state, for the bar."""
        return self.done + self.failed + self.ambiguous


def format_line(snap: ProgressSnapshot) -> str:
    """The plain progress line, e.g. ``progress: 120/400 done, 2 failed, ...``."""
    parts = [f"progress: {snap.done}/{snap.total} done", f"{snap.failed} failed"]
    if snap.ambiguous:
        parts.append(f"{snap.ambiguous} ambiguous")
    parts += [
        f"{snap.in_flight} in flight",
        f"{snap.pending} pending",
        f"{snap.images_per_min:.1f} img/min",
        format_money(snap.spent_usd),
        f"eta {format_duration(snap.eta_s)}",
    ]
    return ", ".join(parts)


def format_duration(seconds: float | None) -> str:
    """``45s``, ``7m28s``, ``2h03m``; ``?`` when unknown."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "?"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def format_money(usd: float) -> str:
    """Cents once it is dollars; four decimals below, where per-image prices live."""
    return f"${usd:,.2f}" if usd >= 1 or usd == 0 else f"${usd:.4f}"


def no_color_requested() -> bool:
    """The NO_COLOR convention (no-color.org): set and not empty."""
    return bool(os.environ.get("NO_COLOR"))


class ProgressDisplay:
    """Shows ``ProgressSnapshot``s; use as a context manager, call ``update`` as often as wanted.

    On a terminal: a rich live display (counts, rate, spend, ETA and a bar). Otherwise: a plain
    line every ``interval_s``. A final line (or final redraw) on exit. ``quiet``: nothing at all.
    NO_COLOR: no colour or style codes.
    """

    def __init__(
        self,
        *,
        stream: TextIO | None = None,
        quiet: bool = False,
        interval_s: float = 5.0,
        force_terminal: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # looked up now, not at import: test runners and the CLI may have replaced sys.stderr
        self._stream = sys.stderr if stream is None else stream
        self._quiet = quiet
        self._interval_s = interval_s
        self._clock = clock
        self._terminal = _is_terminal(self._stream) if force_terminal is None else force_terminal
        self._live: Live | None = None
        self._latest: ProgressSnapshot | None = None
        self._last_line: str | None = None
        self._last_emit: float | None = None

    @property
    def is_live(self) -> bool:
        """True when updates redraw a terminal display rather than print lines."""
        return self._terminal and not self._quiet

    def __enter__(self) -> Self:
        if self.is_live:
            # rich is imported only here: a quiet or logged run never pays ~20 ms for it
            from rich.console import Console
            from rich.live import Live

            console = Console(
                file=self._stream,
                force_terminal=True,
                no_color=no_color_requested(),
                color_system=None if no_color_requested() else "auto",
            )
            self._live = Live(console=console, auto_refresh=False, transient=False)
            self._live.start()
        return self

    def update(self, snapshot: ProgressSnapshot) -> None:
        """Record the latest counters; redraw or print only when one is due."""
        self._latest = snapshot
        if self._quiet:
            return
        now = self._clock()
        due = self._interval_s if self._live is None else LIVE_REFRESH_S
        if self._last_emit is None or now - self._last_emit >= due:
            self._last_emit = now
            self._emit(snapshot)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        live, self._live = self._live, None
        if live is not None:
            if self._latest is not None:
                live.update(_renderable(self._latest), refresh=True)
            live.stop()
        elif self._latest is not None and not self._quiet:
            self._print_line(self._latest)

    def _emit(self, snapshot: ProgressSnapshot) -> None:
        if self._live is not None:
            self._live.update(_renderable(snapshot), refresh=True)
        else:
            self._print_line(snapshot)

    def _print_line(self, snapshot: ProgressSnapshot) -> None:
        line = format_line(snapshot)
        if line != self._last_line:  # the final line repeats nothing already printed
            self._last_line = line
            self._stream.write(line + "\n")
            self._stream.flush()


def _renderable(snap: ProgressSnapshot) -> Group:
    """The live display: the bar, then the counts, then rate, spend and ETA (each under 80 cols)."""
    from rich.console import Group  # loaded already by the live display that calls this
    from rich.progress_bar import ProgressBar
    from rich.table import Table
    from rich.text import Text

    bar = ProgressBar(total=max(snap.total, 1), completed=snap.finished, width=40)
    percent = 100.0 * snap.finished / snap.total if snap.total else 100.0
    top = Table.grid(padding=(0, 1))
    top.add_row(Text("runner", "bold"), bar, Text(f"{percent:5.1f}%", "cyan"))
    ambiguous = f", {snap.ambiguous:,} ambiguous" if snap.ambiguous else ""
    counts = Text.assemble(
        (f"{snap.done:,}/{snap.total:,} done", "green"),
        ", ",
        (f"{snap.failed:,} failed", "red" if snap.failed else ""),
        (ambiguous, "yellow"),
        f", {snap.in_flight:,} in flight, {snap.pending:,} pending",
    )
    rate = Text(
        f"{snap.images:,} images, {snap.images_per_min:.1f} img/min, "
        f"{format_money(snap.spent_usd)} spent, eta {format_duration(snap.eta_s)}"
    )
    return Group(top, counts, rate)


def _is_terminal(stream: TextIO) -> bool:
    """A real terminal that can redraw; TERM=dumb (emacs shells, some CI) counts as not."""
    isatty = getattr(stream, "isatty", None)
    if isatty is None or not isatty():
        return False
    return os.environ.get("TERM", "") != "dumb"
