"""Evenly spaced sends: a token bucket, and a pacer that learns a rate from 429s."""

from __future__ import annotations

import math
import time
from collections import deque

import anyio

from runner.scheduler.limits._common import _EPS, BURST_S, Clock, _positive, _Signal, _turn

# -- token bucket ---------------------------------------------------------------------------


class TokenBucket:
    """Evenly spaced admissions: ``rate`` tokens per second, burst <= 1 s worth (contract).

    The bucket starts full. A request for more tokens than the burst holds is allowed: it
    waits for a full bucket, then for the deficit, so the long-run rate holds whatever the
    request sizes and no send ever leaves ahead of its tokens.
    """

    def __init__(
        self, rate_per_s: float, burst: float | None = None, *, clock: Clock = time.monotonic
    ) -> None:
        self._rate = _positive("rate_per_s", rate_per_s)
        self._burst = None if burst is None else _positive("burst", burst)
        self._clock = clock
        self._tokens = self.capacity
        self._stamp: float | None = None  # the first use starts the clock, inside the loop
        self._queue: deque[anyio.Event] = deque()
        self._rate_changed = _Signal()

    @property
    def rate(self) -> float:
        return self._rate

    @property
    def capacity(self) -> float:
        """The burst: as given, else one second's worth at the current rate, at least one
        token (below one a lone request after a pause would wait for no reason)."""
        return self._burst if self._burst is not None else max(1.0, self._rate * BURST_S)

    @property
    def tokens(self) -> float:
        """Tokens available now (negative while a large request's debt is paid off)."""
        self._refill()
        return self._tokens

    async def acquire(self, tokens: float = 1.0) -> None:
        """Waits, behind every earlier caller, until ``tokens`` may be spent, and spends them."""
        _positive("tokens", tokens)
        async with _turn(self._queue):
            await self._wait_for(tokens)
            self._tokens -= tokens
            await self._wait_for(0.0)  # a request above the burst waits out its own deficit

    def set_rate(self, rate_per_s: float) -> None:
        """Changes the rate from now on; a caller already waiting re-plans at once."""
        rate = _positive("rate_per_s", rate_per_s)
        self._refill()  # tokens earned so far were earned at the old rate
        self._rate = rate
        self._tokens = min(self._tokens, self.capacity)
        self._rate_changed.notify()

    def drain(self) -> None:
        """Spends the burst: the next admission waits a full interval (after a 429 the
        provider's own bucket is empty, and a burst sent now would only draw more 429s)."""
        self._refill()
        self._tokens = min(self._tokens, 0.0)

    async def _wait_for(self, tokens: float) -> None:
        """Waits until ``tokens`` are available, or a full bucket when it holds fewer."""
        while True:
            self._refill()
            need = min(tokens, self.capacity)  # the capacity moves with set_rate
            if self._tokens >= need - _EPS:
                return
            await self._rate_changed.wait((need - self._tokens) / self._rate)

    def _refill(self) -> None:
        now = self._clock()
        if self._stamp is not None:
            earned = (now - self._stamp) * self._rate
            self._tokens = min(self.capacity, self._tokens + earned)
        self._stamp = now


# -- pacer ----------------------------------------------------------------------------------

LEARN_HORIZON_S = 60.0  # the send rate a 429 is measured against: providers count per minute
GOODPUT_SHARE = 0.8  # a cut keeps at least this share of the rate the provider accepted
MIN_LEARNED_PER_MINUTE = 1.0


class _LearnedRate:
    """A request rate learned from 429s, for a run whose manifest sets no rate limit.

    Nothing is paced until the first 429. Each cut sets the rate to ``factor`` x the lower of the
    current rate and the rate actually sent over the last minute: the rate the 429 answered.
    Each success then raises it by ``step`` of itself, so the climb back to where the 429 came
    takes dozens of successes and the account's limit is probed gently, not hit every few
    requests; a rate cut too far still recovers exponentially.

    A cut never goes below ``GOODPUT_SHARE`` of the rate the provider accepted over the same
    minute. Against a real limit that rate *is* the limit, so the pace stays near it; and
    when 429s come at random (an overloaded gateway), halving on each one while growing by a
    small step per success would shrink the rate to nothing, which this floor prevents.
    """

    def __init__(self, clock: Clock) -> None:
        self.bucket: TokenBucket | None = None
        self._clock = clock
        self._sent: deque[float] = deque()
        self._accepted: deque[float] = deque()
        self._first_sent: float | None = None

    def sent(self) -> None:
        now = self._clock()
        self._first_sent = now if self._first_sent is None else self._first_sent
        self._sent.append(now)
        while self._sent[0] < now - LEARN_HORIZON_S:
            self._sent.popleft()

    def accepted(self) -> None:
        now = self._clock()
        self._accepted.append(now)
        while self._accepted[0] < now - LEARN_HORIZON_S:
            self._accepted.popleft()

    def cut(self, factor: float) -> None:
        current = self.bucket.rate if self.bucket is not None else math.inf
        halved = min(current, self._rate_of(self._sent)) * factor
        floor = GOODPUT_SHARE * self._rate_of(self._accepted)
        rate = max(MIN_LEARNED_PER_MINUTE / 60, halved, min(current, floor))
        if self.bucket is None:
            self.bucket = TokenBucket(rate, clock=self._clock)
        else:
            self.bucket.set_rate(rate)

    def grow(self, step: float) -> None:
        if self.bucket is not None:
            self.bucket.set_rate(self.bucket.rate * (1 + step))

    def _rate_of(self, times: deque[float]) -> float:
        """Events per second over the last minute (at least one second) since the first send."""
        if self._first_sent is None:
            return 0.0
        now = self._clock()
        span = min(LEARN_HORIZON_S, max(1.0, now - self._first_sent))
        return sum(1 for t in times if t >= now - span) / span


class Pacer:
    """requests_per_minute and images_per_minute (counting n) together; None = unlimited.

    Both configured rates follow one scale: ``slow_down`` multiplies it (at most once per
    ``cooldown_s``, so a burst of 429s from the same moment counts once) down to ``min_scale``;
    each ``speed_up`` raises it by ``step`` of itself, never past the configured rates: the
    manifest's numbers are the account's limit. With neither rate configured (and ``learn``), a
    429 starts pacing requests at a rate learned the same way, because concurrency alone cannot
    space requests evenly enough for a limit of a few images per minute.
    """

    def __init__(
        self,
        requests_per_minute: float | None,
        images_per_minute: float | None,
        *,
        cooldown_s: float = 1.0,
        min_scale: float = 1 / 32,
        step: float = 1 / 64,
        learn: bool = True,
        learn_step: float | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        self._configured = (requests_per_minute, images_per_minute)
        self._requests = _bucket("requests_per_minute", requests_per_minute, clock)
        self._images = _bucket("images_per_minute", images_per_minute, clock)
        unconfigured = self._requests is None and self._images is None
        self._learned = _LearnedRate(clock) if learn and unconfigured else None
        self._cooldown_s = cooldown_s
        self._min_scale = min_scale
        self._step = step
        # A learned rate has no known ceiling to stop at, so it may need a gentler climb.
        self._learn_step = step if learn_step is None else learn_step
        self._clock = clock
        self._scale = 1.0
        self._last_cut = -math.inf

    @property
    def scale(self) -> float:
        """The fraction of the configured rates in use now (1.0 = as configured)."""
        return self._scale

    @property
    def requests_per_minute(self) -> float | None:
        """The request rate paced now, configured or learned; None = unlimited."""
        bucket = self._requests or (self._learned.bucket if self._learned else None)
        return None if bucket is None else bucket.rate * 60

    @property
    def images_per_minute(self) -> float | None:
        return None if self._images is None else self._images.rate * 60

    async def wait(self, images: int = 1) -> None:
        """Waits until one request producing ``images`` images may be sent."""
        if images < 1:
            raise ValueError(f"images must be at least 1, not {images!r}")
        if self._images is not None:
            await self._images.acquire(images)
        if self._requests is not None:
            await self._requests.acquire()
        if self._learned is not None:
            if self._learned.bucket is not None:
                await self._learned.bucket.acquire()
            self._learned.sent()

    def slow_down(self, factor: float = 0.5) -> None:
        """A 429: multiplies the rates by ``factor`` (0 < factor < 1), once per cooldown."""
        if not 0 < factor < 1:
            raise ValueError(f"factor must be between 0 and 1, not {factor!r}")
        now = self._clock()
        if now - self._last_cut < self._cooldown_s:
            return
        self._last_cut = now
        if self._learned is not None:
            self._learned.cut(factor)
        else:
            self._rescale(max(self._min_scale, self._scale * factor))
        # B6 saw a newly learned bucket, starting full, send a second and third wave of 429s
        # within 0.2 s of the first: 16 of a run's 20 came from that opening.
        learned = self._learned.bucket if self._learned is not None else None
        for bucket in (self._requests, self._images, learned):
            if bucket is not None:
                bucket.drain()

    def speed_up(self) -> None:
        """A success: adds one step back towards the configured (or last 429's) rates."""
        if self._learned is not None:
            self._learned.accepted()
            self._learned.grow(self._learn_step)
        elif self._scale < 1.0:
            self._rescale(min(1.0, self._scale * (1 + self._step)))

    def _rescale(self, scale: float) -> None:
        self._scale = scale
        pairs = zip((self._requests, self._images), self._configured, strict=True)
        for bucket, per_minute in pairs:
            if bucket is not None and per_minute is not None:
                bucket.set_rate(per_minute / 60 * scale)


def _bucket(name: str, per_minute: float | None, clock: Clock) -> TokenBucket | None:
    if per_minute is None:
        return None
    return TokenBucket(_positive(name, per_minute) / 60, clock=clock)
