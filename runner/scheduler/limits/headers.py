"""x-ratelimit-* headers in their OpenAI and gateway forms."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass

# -- rate-limit headers ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RateLimitHint:
    """What a response's rate-limit headers say about the request budget."""

    remaining: int | None  # requests left in the current window
    reset_s: float | None  # seconds until the window resets

    @property
    def exhausted(self) -> bool:
        """No request left: new sends should wait ``reset_s``."""
        return self.remaining is not None and self.remaining <= 0


_GO_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_GO_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,  # micro sign
    "μs": 1e-6,  # Greek mu: Go accepts both
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
# Gateways' X-RateLimit-Reset is a unix timestamp; smaller numbers can only be a delay in
# seconds, larger ones a timestamp in milliseconds.
_EPOCH_FLOOR = 1e9
_EPOCH_MS_FLOOR = 1e12


def parse_ratelimit_headers(
    headers: Mapping[str, str], *, now: float | None = None
) -> RateLimitHint | None:
    """Reads OpenAI's ``x-ratelimit-{remaining,reset}-requests`` (Go durations) or a gateway's
    ``X-RateLimit-{Remaining,Reset}`` (unix time); None when neither form is present.

    ``now`` is the wall-clock time (default ``time.time()``) a gateway's timestamp is measured
    against. Unreadable values read as unknown (None) rather than failing the answer.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    remaining_raw = lowered.get("x-ratelimit-remaining-requests")
    reset_raw = lowered.get("x-ratelimit-reset-requests")
    if remaining_raw is not None or reset_raw is not None:
        return _hint(remaining_raw, None if reset_raw is None else parse_go_duration(reset_raw))
    remaining_raw = lowered.get("x-ratelimit-remaining")
    reset_raw = lowered.get("x-ratelimit-reset")
    if remaining_raw is None and reset_raw is None:
        return None
    wall = time.time() if now is None else now
    return _hint(remaining_raw, None if reset_raw is None else _reset_from_epoch(reset_raw, wall))


def parse_go_duration(text: str) -> float | None:
    """Seconds in a Go duration string (``12ms``, ``1s``, ``6m0s``, ``1h2m3.5s``); a bare
    number is taken as seconds. None when it is not one (negative durations included)."""
    text = text.strip()
    if (plain := _number(text)) is not None:
        return plain
    parts = _GO_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(float(n) * _GO_UNITS[u] for n, u in parts)


def _hint(remaining_raw: str | None, reset_s: float | None) -> RateLimitHint | None:
    remaining = None if remaining_raw is None else _number(remaining_raw)
    if remaining is None and reset_s is None:
        return None
    return RateLimitHint(None if remaining is None else int(remaining), reset_s)


def _reset_from_epoch(raw: str, now: float) -> float | None:
    value = _number(raw)
    if value is None:
        return None
    if value < _EPOCH_FLOOR:
        return value
    if value >= _EPOCH_MS_FLOOR:
        value /= 1000.0
    return max(0.0, value - now)


def _number(raw: str) -> float | None:
    try:
        value = float(raw.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None
