"""A circuit breaker: pause the whole run during an outage, probe, resume."""

from __future__ import annotations

import enum
import math
import time
from collections import deque

from runner.scheduler.limits._common import _EPS, Clock, _positive, _Signal

# -- circuit breaker ------------------------------------------------------------------------


class BreakerState(enum.StrEnum):
    CLOSED = "closed"  # requests flow
    OPEN = "open"  # an outage: everyone waits
    HALF_OPEN = "half_open"  # one probe request may test the water


class CircuitBreaker:
    """Pauses the whole run during an outage instead of burning every item's attempts.

    Opens when, among the last ``window`` outcomes with at least ``min_samples`` of them, more
    than ``threshold`` were outage-like failures (5xx, connection refused/reset). While open,
    ``wait_closed()`` blocks everyone; after a wait (``base_wait_s``, doubling per consecutive
    opening, capped at ``max_wait_s``) it goes half-open and lets exactly one probe through. The
    next outcome recorded decides: success closes it and resets the wait, failure re-opens it
    with the doubled wait. A probe that reports nothing within ``probe_timeout_s`` counts as a
    failure, so a lost probe cannot hold the run forever. Outcomes recorded while open are of
    requests sent before the opening and are ignored.
    """

    def __init__(
        self,
        *,
        window: int = 20,
        min_samples: int = 10,
        threshold: float = 0.5,
        base_wait_s: float = 5.0,
        max_wait_s: float = 300.0,
        probe_timeout_s: float = 600.0,
        clock: Clock = time.monotonic,
    ) -> None:
        if not 1 <= min_samples <= window:
            raise ValueError("need 1 <= min_samples <= window")
        if not 0 <= threshold < 1:
            raise ValueError("threshold must be in [0, 1)")
        if not 0 < base_wait_s <= max_wait_s:
            raise ValueError("need 0 < base_wait_s <= max_wait_s")
        self._outcomes: deque[bool] = deque(maxlen=window)  # True = outage-like failure
        self._min_samples = min_samples
        self._threshold = threshold
        self._base_wait_s = base_wait_s
        self._max_wait_s = max_wait_s
        self._probe_timeout_s = _positive("probe_timeout_s", probe_timeout_s)
        self._clock = clock
        self._state = BreakerState.CLOSED
        self._streak = 0  # consecutive openings without a successful probe
        self._openings = 0
        self._until = math.inf  # open: when it goes half-open; half-open: when the probe is lost
        self._probe_out = False
        self._changed = _Signal()

    @property
    def state(self) -> BreakerState:
        self._advance(self._clock())
        return self._state

    @property
    def openings(self) -> int:
        """How many times it has opened (re-openings after a failed probe included)."""
        return self._openings

    @property
    def wait_s(self) -> float:
        """How long the current (or next) opening lasts before a probe is let through."""
        return min(self._max_wait_s, self._base_wait_s * 2.0 ** max(0, self._streak - 1))

    async def wait_closed(self) -> None:
        """Returns when requests may flow, or to the single caller chosen as the probe."""
        while True:
            now = self._clock()
            self._advance(now)
            if self._state is BreakerState.CLOSED:
                return
            if self._state is BreakerState.HALF_OPEN and not self._probe_out:
                self._probe_out = True
                self._until = now + self._probe_timeout_s
                return
            await self._changed.wait(self._until - now)

    def record(self, ok: bool) -> None:
        """One answer: ``ok=False`` only for outage-like failures (a 400 or 429 is ``ok``)."""
        now = self._clock()
        self._advance(now)
        if self._state is BreakerState.CLOSED:
            self._outcomes.append(not ok)
            if self._tripped():
                self._open(now)
        elif self._state is BreakerState.HALF_OPEN and self._probe_out:
            if ok:
                self._close()
            else:
                self._open(now)

    def _tripped(self) -> bool:
        samples = len(self._outcomes)
        return samples >= self._min_samples and sum(self._outcomes) > self._threshold * samples

    def _advance(self, now: float) -> None:
        """Applies the transitions that only the passing of time makes."""
        if now < self._until - _EPS:
            return
        if self._state is BreakerState.OPEN:
            self._state, self._probe_out, self._until = BreakerState.HALF_OPEN, False, math.inf
        elif self._state is BreakerState.HALF_OPEN and self._probe_out:
            self._open(now)

    def _open(self, now: float) -> None:
        self._streak += 1
        self._openings += 1
        self._state, self._probe_out = BreakerState.OPEN, False
        self._until = now + self.wait_s
        self._outcomes.clear()
        self._changed.notify()

    def _close(self) -> None:
        self._streak = 0
        self._state, self._probe_out, self._until = BreakerState.CLOSED, False, math.inf
        self._outcomes.clear()
        self._changed.notify()
