"""Pacing, adaptive concurrency and the circuit breaker, driven in virtual time.

Most tests run on :class:`VirtualTimeLoop`, an asyncio loop whose clock jumps straight to the next
timer whenever every task is waiting: hours of scheduling run in milliseconds and every timestamp
is exact, so the tests assert on schedules without sleeping or flaking.
"""

from __future__ import annotations

import asyncio
import random
import selectors
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import anyio
import anyio.lowlevel
import httpx
import pytest

from runner.scheduler.limits import (
    AdaptiveConcurrency,
    BreakerState,
    CircuitBreaker,
    Pacer,
    RateLimitHint,
    Slots,
    TokenBucket,
    parse_go_duration,
    parse_ratelimit_headers,
)

T = TypeVar("T")
now = anyio.current_time  # the running loop's clock: virtual under vrun()


class _VirtualSelector(selectors.SelectSelector):
    """Never blocks: where the loop would wait for its next timer, time jumps there instead."""

    def __init__(self, clock: list[float]) -> None:
        super().__init__()
        self._clock = clock

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = super().select(0)
        if ready or timeout == 0:
            return ready
        if timeout is None:
            raise RuntimeError("deadlock: every task waits and no timer is set")
        self._clock[0] += timeout
        return []


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """asyncio with a virtual clock; no test here does real I/O, so nothing is skipped over."""

    def __init__(self) -> None:
        self._now = [0.0]
        super().__init__(_VirtualSelector(self._now))

    def time(self) -> float:
        return self._now[0]


def vrun(main: Callable[[], Awaitable[T]]) -> T:
    return anyio.run(main, backend="asyncio", backend_options={"loop_factory": VirtualTimeLoop})


def test_virtual_clock_jumps_to_the_next_timer() -> None:
    """An hour's sleep takes no real time and lands exactly an hour later."""

    async def main() -> float:
        start = now()
        await anyio.sleep(3600)
        return now() - start

    started = time.monotonic()
    assert vrun(main) == 3600
    assert time.monotonic() - started < 60  # only catches a loop that really slept


# -- token bucket ---------------------------------------------------------------------------


async def _admit_all(bucket: TokenBucket, sizes: list[float]) -> list[tuple[int, float]]:
    """Starts one caller per size, in order; returns (caller, admission time) as they pass."""
    admitted: list[tuple[int, float]] = []

    async def caller(index: int, tokens: float) -> None:
        await bucket.acquire(tokens)
        admitted.append((index, now()))

    async with anyio.create_task_group() as tg:
        for index, tokens in enumerate(sizes):
            tg.start_soon(caller, index, tokens)
    return admitted


def test_bucket_admits_one_seconds_burst_then_evenly_spaced() -> None:
    """A full bucket lets one second's worth through at once, then one caller per 1/rate s."""
    admitted = vrun(lambda: _admit_all(TokenBucket(2.0, clock=now), [1.0] * 6))
    assert [t for _, t in admitted] == pytest.approx([0, 0, 0.5, 1.0, 1.5, 2.0], abs=1e-6)


def test_bucket_admissions_over_a_minute_match_the_rate() -> None:
    """Under constant demand, every 10 s window admits rate x 10 callers, burst only once."""

    async def main() -> list[float]:
        bucket, times = TokenBucket(5.0, clock=now), []

        async def worker() -> None:
            while now() < 60:
                await bucket.acquire()
                times.append(now())

        async with anyio.create_task_group() as tg:
            for _ in range(20):
                tg.start_soon(worker)
        return times

    times = vrun(main)
    assert len([t for t in times if t < 1.0]) == 5 + 4  # the burst, then 0.2, 0.4, 0.6, 0.8
    for start in range(1, 51, 10):
        assert len([t for t in times if start <= t < start + 10]) == pytest.approx(50, abs=1)


def test_bucket_is_fifo_and_large_requests_wait_out_their_deficit() -> None:
    """Callers pass in arrival order; one asking for more than the burst waits its deficit."""
    admitted = vrun(lambda: _admit_all(TokenBucket(1.0, clock=now), [2, 1, 3, 1, 1]))
    assert [i for i, _ in admitted] == [0, 1, 2, 3, 4]
    assert [t for _, t in admitted] == pytest.approx([1, 2, 5, 6, 7], abs=1e-6)


@pytest.mark.parametrize(("new_rate", "expected"), [(0.1, 5.5), (10.0, 0.55)])
def test_set_rate_replans_a_waiting_caller(new_rate: float, expected: float) -> None:
    """A caller already waiting is admitted on the new rate's schedule, not the old one's."""

    async def main() -> float:
        bucket = TokenBucket(1.0, clock=now)
        await bucket.acquire()
        async with anyio.create_task_group() as tg:
            tg.start_soon(bucket.acquire)
            await anyio.sleep(0.5)
            bucket.set_rate(new_rate)
        return now()

    assert vrun(main) == pytest.approx(expected, abs=1e-6)


def test_cancelled_waiter_passes_its_turn_on() -> None:
    """A caller cancelled at the head of the queue does not block the one behind it."""

    async def main() -> list[tuple[str, float]]:
        bucket, admitted = TokenBucket(1.0, clock=now), []
        await bucket.acquire()
        first = anyio.CancelScope()

        async def caller(name: str, scope: anyio.CancelScope) -> None:
            with scope:
                await bucket.acquire()
                admitted.append((name, now()))

        async with anyio.create_task_group() as tg:
            tg.start_soon(caller, "first", first)
            tg.start_soon(caller, "second", anyio.CancelScope())
            await anyio.sleep(0.5)
            first.cancel()
        return admitted

    [(name, at)] = vrun(main)
    assert name == "second"
    assert at == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("rate", [0.0, -1.0, float("inf")])
def test_bucket_refuses_a_rate_that_is_not_positive_and_finite(rate: float) -> None:
    """A zero, negative or infinite rate is a configuration error, not a silent hang."""
    with pytest.raises(ValueError, match="rate_per_s"):
        TokenBucket(rate)


@pytest.mark.asyncio
async def test_bucket_really_waits_on_the_default_clock() -> None:
    """With the real monotonic clock, callers beyond the burst really wait (lower bound only)."""
    bucket = TokenBucket(50.0, burst=1.0)
    started = time.monotonic()
    for _ in range(3):
        await bucket.acquire()
    assert time.monotonic() - started >= 2 / 50 - 0.005


# -- pacer ----------------------------------------------------------------------------------


async def _wait_times(pacer: Pacer, images: list[int]) -> list[float]:
    times = []
    for n in images:
        await pacer.wait(n)
        times.append(now())
    return times


@pytest.mark.parametrize(
    ("rpm", "ipm", "images", "expected"),
    [
        (120, 60, [1, 1, 1, 1], [0, 1, 2, 3]),  # images bind
        (30, 600, [1, 1, 1, 1], [0, 2, 4, 6]),  # requests bind
        (None, 60, [1, 3, 1], [0, 3, 4]),  # n=3 spends three images' worth
        (None, None, [10] * 100, [0] * 100),  # unlimited never waits
    ],
)
def test_pacer_applies_both_limits_counting_n(
    rpm: float | None, ipm: float | None, images: list[int], expected: list[float]
) -> None:
    """Requests wait for both the request and the image budget; a request of n images costs n."""
    pacer = Pacer(rpm, ipm, clock=now)
    assert vrun(lambda: _wait_times(pacer, images)) == pytest.approx(expected, abs=1e-6)


def test_pacer_slows_down_once_per_cooldown_and_recovers_to_the_configured_rate() -> None:
    """A burst of 429s cuts once; successes climb back, never past the manifest's rate."""

    async def main() -> list[float | None]:
        pacer = Pacer(60, 120, clock=now)
        seen = []
        for _ in range(5):
            pacer.slow_down(0.5)
        seen.append(pacer.requests_per_minute)
        await anyio.sleep(1.0)
        pacer.slow_down(0.5)
        seen += [pacer.requests_per_minute, pacer.images_per_minute]
        for _ in range(1000):
            pacer.speed_up()
        seen += [pacer.requests_per_minute, pacer.images_per_minute]
        return seen

    assert vrun(main) == pytest.approx([30, 15, 30, 60, 120])


def test_pacer_learns_a_rate_from_429s_when_none_is_configured() -> None:
    """Unconfigured, a 429 starts pacing below what was sent; successes raise it again."""

    async def main() -> list[float | None]:
        pacer = Pacer(None, None, clock=now)
        seen = [pacer.requests_per_minute]
        for _ in range(60):  # 60 requests in the first minute, then a 429
            await pacer.wait(1)
            await anyio.sleep(1.0)
        pacer.slow_down(0.5)
        seen.append(pacer.requests_per_minute)
        pacer.speed_up()
        seen.append(pacer.requests_per_minute)
        return seen

    unlimited, cut, raised = vrun(main)
    assert unlimited is None
    assert cut == pytest.approx(30.0)
    assert cut is not None
    assert raised is not None
    assert cut < raised < 31.0


def test_a_429_leaves_no_burst_to_send_into_the_empty_provider_bucket() -> None:
    """After a 429, the next sends are spaced at the paced rate from the start: no burst."""

    async def main() -> list[float]:
        pacer = Pacer(None, None, clock=now)
        for _ in range(20):  # 20 requests in the first second, then a 429
            await pacer.wait(1)
        await anyio.sleep(1.0)
        pacer.slow_down(0.5)
        started, times = now(), []
        for _ in range(4):
            await pacer.wait(1)
            times.append(now() - started)
        return times

    # 20 sent in the last second, halved: 10/s. Before the fix the first 10 left at once.
    assert vrun(main) == pytest.approx([0.1, 0.2, 0.3, 0.4])


# -- adaptive concurrency -------------------------------------------------------------------


def test_slot_bounds_requests_in_flight_in_arrival_order() -> None:
    """No more than `maximum` bodies run at once, and waiters get slots in arrival order."""

    async def main() -> tuple[int, list[tuple[int, float]]]:
        conc, entered, peak = AdaptiveConcurrency(3, clock=now), [], 0

        async def request(index: int) -> None:
            nonlocal peak
            async with conc.slot():
                entered.append((index, now()))
                peak = max(peak, conc.in_flight)
                await anyio.sleep(1.0)

        async with anyio.create_task_group() as tg:
            for index in range(7):
                tg.start_soon(request, index)
        return peak, entered

    peak, entered = vrun(main)
    assert peak == 3
    assert [i for i, _ in entered] == list(range(7))
    assert [t for _, t in entered] == pytest.approx([i // 3 for i in range(7)], abs=1e-6)


def test_429s_halve_the_limit_once_per_cooldown_down_to_one() -> None:
    """Simultaneous 429s count once; later ones keep halving, never below one."""

    async def main() -> list[int]:
        conc, seen = AdaptiveConcurrency(16, cooldown_s=1.0, clock=now), []
        for _ in range(5):
            conc.rate_limited(None)
        seen.append(conc.limit)
        for _ in range(5):
            await anyio.sleep(1.0)
            conc.rate_limited(None)
            seen.append(conc.limit)
        return seen

    assert vrun(main) == [8, 4, 2, 1, 1, 1]


def test_successes_raise_the_limit_by_one_per_round_trip_up_to_maximum() -> None:
    """After a cut, every `limit` successes add one, and the limit stops at the maximum."""
    conc = AdaptiveConcurrency(8, clock=time.monotonic)
    conc.rate_limited(0.0)
    limits = []
    for _ in range(3 + 4 + 5 + 6 + 7 + 100):
        conc.success()
        limits.append(conc.limit)
    assert limits.index(5) == 4 - 1  # four successes at limit 4
    assert limits.index(6) == 4 + 5 - 1
    assert limits.index(8) == 4 + 5 + 6 + 7 - 1
    assert max(limits) == 8


@pytest.mark.parametrize(("retry_after", "expected"), [(2.5, 2.5), (None, 1.0), (0.0, 0.0)])
def test_429_pauses_new_sends_until_retry_after(retry_after: float | None, expected: float) -> None:
    """After a 429, no new request enters a slot before Retry-After (or the default) passes."""

    async def main() -> float:
        conc = AdaptiveConcurrency(4, default_pause_s=1.0, clock=now)
        conc.rate_limited(retry_after)
        async with conc.slot():
            return now()

    assert vrun(main) == pytest.approx(expected, abs=1e-6)


def test_a_shorter_pause_never_cuts_a_longer_one() -> None:
    """A second 429 with a shorter Retry-After keeps the first one's pause."""

    async def main() -> float:
        conc = AdaptiveConcurrency(4, clock=now)
        conc.rate_limited(5.0)
        conc.pause(1.0)
        async with conc.slot():
            return now()

    assert vrun(main) == pytest.approx(5.0, abs=1e-6)


def test_halved_limit_admits_only_once_in_flight_falls_below_it() -> None:
    """Requests already in flight finish; new ones wait until fewer than the new limit run."""

    async def main() -> list[float]:
        conc, entered = AdaptiveConcurrency(4, clock=now), []

        async def request(hold: float) -> None:
            async with conc.slot():
                entered.append(now())
                await anyio.sleep(hold)

        async with anyio.create_task_group() as tg:
            for hold in (1.0, 2.0, 3.0, 4.0):
                tg.start_soon(request, hold)
            await anyio.sleep(0.5)
            conc.rate_limited(0.0)  # limit 2 while 4 are in flight
            tg.start_soon(request, 1.0)
        return entered

    assert vrun(main)[-1] == pytest.approx(3.0, abs=1e-6)


def test_slot_is_released_when_the_body_fails() -> None:
    """An exception inside the slot frees it; nothing leaks."""

    async def main() -> int:
        conc = AdaptiveConcurrency(1, clock=now)
        with pytest.raises(RuntimeError):
            async with conc.slot():
                raise RuntimeError("boom")
        async with conc.slot():
            return conc.in_flight

    assert vrun(main) == 1


# -- circuit breaker ------------------------------------------------------------------------


def test_breaker_needs_min_samples_before_opening() -> None:
    """Nine failures out of nine is not enough evidence; the tenth opens it."""
    breaker = CircuitBreaker(window=20, min_samples=10, clock=lambda: 0.0)
    states = []
    for _ in range(10):
        breaker.record(False)
        states.append(breaker.state)
    assert states == [BreakerState.CLOSED] * 9 + [BreakerState.OPEN]
    assert breaker.openings == 1


def test_breaker_opens_only_above_the_threshold() -> None:
    """Half the window failing keeps it closed; one failure more than half opens it."""
    breaker = CircuitBreaker(threshold=0.5, clock=lambda: 0.0)
    for ok in [True] * 5 + [False] * 5:
        breaker.record(ok)
    assert breaker.state == "closed"
    breaker.record(False)
    assert breaker.state == "open"


def test_breaker_window_forgets_old_failures() -> None:
    """Failures older than the last `window` outcomes no longer count."""
    breaker = CircuitBreaker(window=10, min_samples=10, clock=lambda: 0.0)
    for ok in [False] * 5 + [True] * 5 + [False] * 4 + [True]:  # 9 of 15, but 4 of the last 10
        breaker.record(ok)
    assert breaker.state is BreakerState.CLOSED


def _trip(breaker: CircuitBreaker) -> None:
    for _ in range(10):
        breaker.record(False)


def test_half_open_lets_exactly_one_probe_through() -> None:
    """After the wait one caller probes while the others wait; its success frees everyone."""

    async def main() -> tuple[list[tuple[int, float]], int, list[BreakerState]]:
        breaker, passed = CircuitBreaker(clock=now), []
        _trip(breaker)

        async def caller(index: int) -> None:
            await breaker.wait_closed()
            passed.append((index, now()))

        async with anyio.create_task_group() as tg:
            for index in range(5):
                tg.start_soon(caller, index)
            await anyio.sleep(100.0)
            states = [breaker.state]
            probes = len(passed)
            breaker.record(True)
        return passed, probes, [*states, breaker.state]

    passed, probes, states = vrun(main)
    assert probes == 1
    assert states == ["half_open", "closed"]
    assert [t for _, t in passed] == pytest.approx([5.0] + [100.0] * 4, abs=1e-6)


def test_failed_probes_double_the_wait_up_to_the_cap() -> None:
    """Each failed probe re-opens with twice the wait, capped at max_wait_s."""

    async def main() -> list[float]:
        breaker, probes = CircuitBreaker(base_wait_s=5.0, max_wait_s=40.0, clock=now), []
        _trip(breaker)
        for _ in range(6):
            await breaker.wait_closed()
            probes.append(now())
            breaker.record(False)
        return probes

    assert vrun(main) == pytest.approx([5, 15, 35, 75, 115, 155], abs=1e-6)


def test_successful_probe_resets_the_wait() -> None:
    """After a probe succeeds, the next outage starts again from the base wait."""

    async def main() -> float:
        breaker = CircuitBreaker(base_wait_s=5.0, clock=now)
        _trip(breaker)
        for ok in (False, False, True):  # probes at 5 s, 15 s, 35 s
            await breaker.wait_closed()
            breaker.record(ok)
        _trip(breaker)
        opened = now()
        await breaker.wait_closed()
        return now() - opened

    assert vrun(main) == pytest.approx(5.0, abs=1e-6)


def test_lost_probe_counts_as_a_failure() -> None:
    """A probe that never reports re-opens the breaker after probe_timeout_s, wait doubled."""

    async def main() -> list[float]:
        breaker = CircuitBreaker(base_wait_s=5.0, probe_timeout_s=30.0, clock=now)
        _trip(breaker)
        await breaker.wait_closed()  # the probe, which never records
        first = now()
        await breaker.wait_closed()  # the next probe
        return [first, now(), breaker.openings]

    assert vrun(main) == pytest.approx([5.0, 5.0 + 30.0 + 10.0, 2], abs=1e-6)


def test_outcomes_recorded_while_open_are_ignored() -> None:
    """Late answers of requests sent before the opening neither close nor re-open it."""
    clock = [0.0]
    breaker = CircuitBreaker(clock=lambda: clock[0])
    _trip(breaker)
    breaker.record(True)
    breaker.record(False)
    states = [breaker.state]
    clock[0] = 4.9
    states.append(breaker.state)
    clock[0] = 5.0
    states.append(breaker.state)
    assert states == ["open", "open", "half_open"]
    assert breaker.openings == 1


def test_thirty_minute_outage_costs_a_handful_of_probes() -> None:
    """16 workers sit out a 30-minute outage with a few probes, then resume within the cap."""
    outage_start, outage_end = 60.0, 60.0 + 1800.0

    async def main() -> tuple[int, float]:
        breaker, sent_during, resumed = CircuitBreaker(clock=now), 0, []

        async def worker() -> None:
            nonlocal sent_during
            while now() < outage_end + 400:
                await breaker.wait_closed()
                down = outage_start <= now() < outage_end
                sent_during += down
                resumed.extend([now()] if now() >= outage_end else [])
                await anyio.sleep(0.1 if down else 2.0)  # refused at once, or a slow success
                breaker.record(not down)

        async with anyio.create_task_group() as tg:
            for _ in range(16):
                tg.start_soon(worker)
        return sent_during, min(resumed)

    sent_during, resumed_at = vrun(main)
    assert sent_during <= 16 + 10 + 12  # in flight, enough samples to open, ~11 probes
    assert resumed_at - outage_end <= 300.0


# -- rate-limit headers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("12ms", 0.012),
        ("1s", 1.0),
        ("6m0s", 360.0),
        ("1h2m3.5s", 3723.5),
        ("250us", 0.00025),
        ("0", 0.0),
        ("2.5", 2.5),
        ("", None),
        ("soon", None),
        ("-1s", None),
        ("1x", None),
        ("1s garbage", None),
    ],
)
def test_go_durations(text: str, seconds: float | None) -> None:
    """OpenAI's reset headers are Go durations; anything else reads as unknown."""
    assert parse_go_duration(text) == pytest.approx(seconds)


def test_openai_headers_give_remaining_and_reset() -> None:
    """x-ratelimit-*-requests are read case-insensitively; 0 remaining means exhausted."""
    hint = parse_ratelimit_headers(
        {"X-RateLimit-Remaining-Requests": "0", "x-ratelimit-reset-requests": "6m0s"}
    )
    assert hint == RateLimitHint(remaining=0, reset_s=360.0)
    assert hint.exhausted


def test_httpx_headers_are_accepted() -> None:
    """The client's own header type works as it is."""
    headers = httpx.Headers({"x-ratelimit-remaining-requests": "59", "x-other": "1"})
    hint = parse_ratelimit_headers(headers)
    assert hint == RateLimitHint(remaining=59, reset_s=None)
    assert not hint.exhausted


@pytest.mark.parametrize(
    ("reset", "expected"),
    [
        ("1700000030", 30.0),  # unix seconds
        ("1699999990", 0.0),  # already past
        ("1700000030000", 30.0),  # unix milliseconds
        ("45", 45.0),  # too small to be a date: a delay in seconds
        ("tomorrow", None),
    ],
)
def test_gateway_headers_give_seconds_until_reset(reset: str, expected: float | None) -> None:
    """X-RateLimit-Reset is a unix timestamp, turned into seconds from now."""
    headers = {"X-RateLimit-Remaining": "3", "X-RateLimit-Reset": reset}
    hint = parse_ratelimit_headers(headers, now=1_700_000_000.0)
    assert hint == RateLimitHint(remaining=3, reset_s=expected)


@pytest.mark.parametrize(
    "headers",
    [{}, {"content-type": "application/json"}, {"x-ratelimit-remaining-requests": "many"}],
)
def test_no_usable_rate_limit_headers_give_none(headers: dict[str, str]) -> None:
    """Without a readable remaining or reset there is no hint."""
    assert parse_ratelimit_headers(headers) is None


# -- simulation: the whole send path against a rate-limited server --------------------------


@dataclass
class FakeServer:
    """Accepts `rate` requests per second with one second's burst; the rest get a 429."""

    rate: float
    tokens: float = 0.0
    stamp: float = 0.0
    accepted: int = 0
    limited: int = 0

    def __post_init__(self) -> None:
        self.tokens = max(1.0, self.rate)

    def admit(self, at: float) -> bool:
        self.tokens = min(max(1.0, self.rate), self.tokens + (at - self.stamp) * self.rate)
        self.stamp = at
        ok = self.tokens >= 1.0
        self.tokens -= ok
        self.accepted += ok
        self.limited += not ok
        return ok


async def _simulate(server: FakeServer, rpm: float | None, seconds: float) -> None:
    """16 workers wired as the engine should be: slot, then pacer, then send."""
    rng = random.Random(7)
    conc, pacer = AdaptiveConcurrency(16, clock=now), Pacer(rpm, None, clock=now)

    async def worker() -> None:
        while now() < seconds:
            async with conc.slot():
                await pacer.wait(1)
                if now() >= seconds:
                    return
                ok = server.admit(now())
                await anyio.sleep(rng.uniform(1.5, 2.5) if ok else 0.05)
                if ok:
                    conc.success()
                    pacer.speed_up()
                    continue
                if pacer.requests_per_minute is None:  # nothing paces yet: cut concurrency
                    conc.rate_limited(None)
                else:
                    conc.pause(1.0)
                pacer.slow_down()

    async with anyio.create_task_group() as tg:
        for _ in range(16):
            tg.start_soon(worker)


@pytest.mark.parametrize(
    ("rpm", "min_use"),
    [(None, 0.5), (120.0, 0.95), (240.0, 0.7)],  # none, the true limit, twice the limit
)
def test_simulated_run_keeps_429s_rare_and_uses_the_limit(
    rpm: float | None, min_use: float
) -> None:
    """Against a server allowing 2 req/s, under 5% of requests meet a 429, and most of the
    allowed rate is used, whether the manifest sets no limit, the right one, or too high."""
    server, seconds = FakeServer(rate=2.0), 1500.0
    vrun(lambda: _simulate(server, rpm, seconds))
    assert server.limited / (server.accepted + server.limited) < 0.05
    assert server.accepted >= min_use * server.rate * seconds


def test_random_429s_do_not_shrink_the_learned_rate_to_nothing() -> None:
    """Random 429s (an overloaded gateway, not a limit) leave a usable pace, not one a minute."""
    clock = [0.0]
    pacer = Pacer(None, None, clock=lambda: clock[0])
    rng = random.Random(1)
    next_send = 0.0
    while clock[0] < 120.0:
        rpm = pacer.requests_per_minute
        clock[0] = max(clock[0] + 0.05, next_send)  # the sender could do 20 requests/s
        next_send = clock[0] + (0.05 if rpm is None else max(0.05, 60.0 / rpm))
        learned = pacer._learned  # wait()'s send bookkeeping, without its sleeping
        assert learned is not None
        learned.sent()
        if rng.random() < 0.1:
            pacer.slow_down()
        else:
            pacer.speed_up()
    rpm = pacer.requests_per_minute
    assert rpm is not None
    assert rpm / 60 > 2.0  # halving per 429 with no floor ends near 1 request a minute


@pytest.mark.asyncio
async def test_slots_bound_holders_and_serve_waiters_in_order() -> None:
    """Slots never lets more than its limit in, and serves waiters first come, first served."""
    slots = Slots(3)
    order: list[int] = []
    peak = 0

    async def hold(i: int) -> None:
        nonlocal peak
        async with slots.slot():
            order.append(i)
            peak = max(peak, slots.in_flight)
            await anyio.sleep(0.01)

    async with anyio.create_task_group() as tg:
        for i in range(12):
            tg.start_soon(hold, i)
            await anyio.lowlevel.checkpoint()  # start in a known order
    assert peak == 3
    assert order == list(range(12))
    assert slots.in_flight == 0
