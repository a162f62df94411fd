"""Progress: plain lines off a terminal, a live display on one, silence when quiet."""

from __future__ import annotations

import io
import re

import pytest

from runner.outputs import ProgressDisplay, ProgressSnapshot
from runner.outputs.progress import format_duration, format_money

SGR = re.compile(r"\x1b\[[0-9;]*m")  # colour and style codes
ESC = "\x1b"


class FakeClock:
    """A monotonic clock the test moves by hand: interval logic without sleeping."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class TtyStringIO(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def snap(done: int = 120, **changes: float | int | None) -> ProgressSnapshot:
    values: dict[str, float | int | None] = {
        "total": 400,
        "done": done,
        "failed": 2,
        "ambiguous": 0,
        "in_flight": 8,
        "pending": 270,
        "images": done,
        "spent_usd": 1.234,
        "elapsed_s": 192.0,
        "images_per_min": 37.5,
        "eta_s": 448.0,
    }
    values.update(changes)
    return ProgressSnapshot(**values)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def colour_terminal_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A known environment: colours allowed, a capable TERM, nothing forcing rich either way."""
    for name in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLORTERM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")


def test_plain_line_format_when_not_a_terminal() -> None:
    """Off a terminal the first update prints the documented plain line."""
    stream = io.StringIO()
    with ProgressDisplay(stream=stream, clock=FakeClock()) as display:
        display.update(snap())
        assert stream.getvalue() == (
            "progress: 120/400 done, 2 failed, 8 in flight, 270 pending, 37.5 img/min, "
            "$1.23, eta 7m28s\n"
        )
    assert display.is_live is False


def test_plain_line_names_ambiguous_items_and_unknown_eta() -> None:
    """Ambiguous items are shown when there are some; an unknown ETA reads '?'."""
    stream = io.StringIO()
    with ProgressDisplay(stream=stream, clock=FakeClock()) as display:
        display.update(snap(ambiguous=3, eta_s=None, spent_usd=0.04))
    assert stream.getvalue() == (
        "progress: 120/400 done, 2 failed, 3 ambiguous, 8 in flight, 270 pending, "
        "37.5 img/min, $0.0400, eta ?\n"
    )


def test_plain_lines_at_most_once_per_interval_and_final_line_on_exit() -> None:
    """Updates inside the interval print nothing; the next one after it prints; exit prints last."""
    stream, clock = io.StringIO(), FakeClock()
    with ProgressDisplay(stream=stream, interval_s=5.0, clock=clock) as display:
        display.update(snap(done=1))
        clock.now += 4.9
        display.update(snap(done=2))
        clock.now += 0.1
        display.update(snap(done=3))
        clock.now += 1
        display.update(snap(done=4))
    done_counts = [line.split()[1] for line in stream.getvalue().splitlines()]
    assert done_counts == ["1/400", "3/400", "4/400"]


def test_final_line_not_repeated_when_already_printed() -> None:
    """Exiting right after printing the same counters adds no duplicate line."""
    stream = io.StringIO()
    with ProgressDisplay(stream=stream, clock=FakeClock()) as display:
        display.update(snap())
    assert len(stream.getvalue().splitlines()) == 1


def test_default_stream_is_stderr_at_creation(capsys: pytest.CaptureFixture[str]) -> None:
    """Without a stream the display writes to whatever sys.stderr is when it is made."""
    with ProgressDisplay(clock=FakeClock()) as display:
        display.update(snap())
    captured = capsys.readouterr()
    assert captured.err.startswith("progress: 120/400 done")
    assert captured.out == ""


def test_no_update_prints_nothing() -> None:
    """A display that never got a snapshot stays silent, even on exit."""
    stream = io.StringIO()
    with ProgressDisplay(stream=stream):
        pass
    assert stream.getvalue() == ""


@pytest.mark.parametrize("force_terminal", [None, True, False])
def test_quiet_prints_nothing(force_terminal: bool | None) -> None:
    """quiet: no line, no live display, nothing on exit, whatever the stream is."""
    stream = TtyStringIO()
    with ProgressDisplay(stream=stream, quiet=True, force_terminal=force_terminal) as display:
        for done in range(5):
            display.update(snap(done=done))
    assert stream.getvalue() == ""


def test_terminal_gets_a_live_display_with_bar_and_colour() -> None:
    """On a terminal: counts, rate, spend, ETA and a bar, with colour codes by default."""
    stream = TtyStringIO()
    with ProgressDisplay(stream=stream, clock=FakeClock()) as display:
        display.update(snap())
    out = stream.getvalue()
    assert display.is_live is True
    assert SGR.search(out)
    plain = SGR.sub("", out)
    assert "120/400 done, 2 failed, 8 in flight, 270 pending" in plain
    assert "120 images, 37.5 img/min, $1.23 spent, eta 7m28s" in plain
    assert "30.5%" in plain
    assert "━" in plain  # the bar


def test_no_color_gives_no_colour_codes_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """NO_COLOR set: the live display still shows, without any colour or style code."""
    monkeypatch.setenv("NO_COLOR", "1")
    stream = io.StringIO()
    with ProgressDisplay(stream=stream, force_terminal=True, clock=FakeClock()) as display:
        display.update(snap(failed=3, ambiguous=1))
    out = stream.getvalue()
    assert "120/400 done, 3 failed, 1 ambiguous" in out
    assert not SGR.search(out)


def test_no_color_plain_lines_have_no_escape_at_all(monkeypatch: pytest.MonkeyPatch) -> None:
    """NO_COLOR off a terminal: plain text only, not a single escape character."""
    monkeypatch.setenv("NO_COLOR", "1")
    stream = io.StringIO()
    with ProgressDisplay(stream=stream, clock=FakeClock()) as display:
        display.update(snap())
    assert stream.getvalue().startswith("progress: ")
    assert ESC not in stream.getvalue()


def test_dumb_terminal_gets_plain_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    """TERM=dumb cannot redraw: a tty stream there still gets plain lines."""
    monkeypatch.setenv("TERM", "dumb")
    stream = TtyStringIO()
    with ProgressDisplay(stream=stream, clock=FakeClock()) as display:
        display.update(snap())
    assert display.is_live is False
    assert stream.getvalue().startswith("progress: 120/400 done")


def test_live_redraws_are_rate_limited() -> None:
    """Many updates within a quarter second redraw once; the final state is drawn on exit."""
    stream, clock = TtyStringIO(), FakeClock()
    with ProgressDisplay(stream=stream, clock=clock) as display:
        display.update(snap(done=10))
        after_first = len(stream.getvalue())
        for done in range(11, 50):
            display.update(snap(done=done))
        assert len(stream.getvalue()) == after_first
    assert "49/400 done" in SGR.sub("", stream.getvalue())


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "?"),
        (-1.0, "?"),
        (float("inf"), "?"),
        (0, "0s"),
        (45.4, "45s"),
        (448, "7m28s"),
        (3600, "1h00m"),
        (7380, "2h03m"),
    ],
)
def test_format_duration(seconds: float | None, text: str) -> None:
    """Durations read as seconds, minutes and seconds, or hours and minutes."""
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    ("usd", "text"), [(0.0, "$0.00"), (0.04, "$0.0400"), (1.234, "$1.23"), (12345.6, "$12,345.60")]
)
def test_format_money(usd: float, text: str) -> None:
    """Sub-dollar spend keeps per-image precision; larger sums read in cents."""
    assert format_money(usd) == text
