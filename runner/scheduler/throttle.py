"""When a generation request may leave: adaptive concurrency, pacing and the circuit breaker.

The order matters, and was chosen by simulation (see runner.scheduler.limits' tests): take a
concurrency slot, then wait out an open breaker, then the pacer's spacing; then the request is
sent at once. (The engine admitted it against the budget and recorded the intent before it came
here.) Every answer is fed back so the three can adapt.
"""

from __future__ import annotations

from runner.client.errors import AmbiguousError, ProviderError, RateLimitedError, RetryableError
from runner.scheduler.limits import AdaptiveConcurrency, BreakerState, CircuitBreaker, Pacer
from runner.scheduler.live import RunControl

LEARN_STEP = 1 / 256


class Throttle:
    """The run's gate for generation requests."""

    def __init__(self, ctl: RunControl) -> None:
        s = ctl.settings
        self.ctl = ctl
        self.concurrency = AdaptiveConcurrency(s.concurrency)
        # A learned rate climbs back gently: at 1/64 per success a 10/s limit was re-probed every
        # ~2 s and 7.7% of requests drew 429s (bench B6); 1/256 trades a little rate for fewer.
        # A configured rate keeps the default step: the manifest's number is the ceiling.
        self.pacer = Pacer(
            s.rate_limit.requests_per_minute,
            s.rate_limit.images_per_minute,
            learn_step=LEARN_STEP,
        )
        self.breaker = CircuitBreaker()

    def slot(self, images: int) -> _SendSlot:
        """``async with throttle.slot(n) as cleared``: holds a send slot; ``cleared`` is False if
        sends were halted (a signal, a refused account) while it waited."""
        return _SendSlot(self, images)

    async def _cleared(self, images: int) -> bool:
        if self._open_road():
            # Unpaced, this never blocks; it still counts the send, which is what the
            # first 429 will measure the provider's rate against.
            await self.pacer.wait(images)
            return not self.ctl.sends_halted
        cleared = await self.ctl.unless_halted(self._clear, images)
        return cleared and not self.ctl.sends_halted

    def _open_road(self) -> bool:
        """The common case, checked without awaiting: breaker closed and no pacing."""
        return self.breaker.state is BreakerState.CLOSED and self._unpaced()

    def _unpaced(self) -> bool:
        return self.pacer.requests_per_minute is None and self.pacer.images_per_minute is None

    async def _clear(self, images: int) -> None:
        await self.breaker.wait_closed()
        await self.pacer.wait(images)

    @property
    def outage(self) -> bool:
        """True while the breaker holds the run: failures then say nothing about the item."""
        return self.breaker.state is not BreakerState.CLOSED

    @property
    def in_flight(self) -> int:
        return self.concurrency.in_flight

    def answered(self, exc: ProviderError | None) -> None:
        """Feeds one generation answer (None: success) back into all three."""
        if exc is None:
            self.concurrency.success()
            self.pacer.speed_up()
            self.breaker.record(True)
        elif isinstance(exc, RateLimitedError):
            self._rate_limited(exc)
        else:
            self.breaker.record(not _outage_like(exc))

    def _rate_limited(self, exc: RateLimitedError) -> None:
        # With a configured or learned rate, the pacer does the slowing down; halving
        # concurrency on top starves long-latency runs. Check before slow_down() learns a rate.
        if self._unpaced():
            self.concurrency.rate_limited(exc.retry_after)
        else:
            self.concurrency.pause(exc.retry_after or 1.0)
        self.pacer.slow_down()
        self.breaker.record(True)  # a 429 is the provider answering, not an outage


def _outage_like(exc: ProviderError) -> bool:
    """5xx and connection failures, and requests that got no answer at all."""
    if isinstance(exc, RetryableError):
        status = exc.info.http_status
        return status is None or status >= 500
    return isinstance(exc, AmbiguousError) and not exc.answered


class _SendSlot:
    """A class, not an ``@asynccontextmanager``: every generation request passes through it."""

    __slots__ = ("_images", "_throttle")

    def __init__(self, throttle: Throttle, images: int) -> None:
        self._throttle, self._images = throttle, images

    async def __aenter__(self) -> bool:
        concurrency = self._throttle.concurrency
        await concurrency.acquire()
        try:
            return await self._throttle._cleared(self._images)
        except BaseException:
            concurrency.release()
            raise

    async def __aexit__(self, *_exc: object) -> None:
        self._throttle.concurrency.release()
