"""Injected faults: each fires at about its share, decided by seed and request, never by order."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest

from runner.sim import SimConfig
from runner.sim.state import SimState

from .kit import Api, Decoded, decode, error_of

N = 200


def _body(i: int) -> dict[str, object]:
    return {"model": "dall-e-2", "prompt": f"prompt number {i}", "size": "256x256"}


def _statuses(api: Api, order: range | list[int]) -> dict[int, int]:
    return {i: api.post(_body(i)).status_code for i in order}


@pytest.mark.parametrize(
    ("option", "status", "error_type", "code"),
    [
        ("fail_rate", 500, "server_error", None),
        ("rate_429", 429, "requests", "rate_limit_exceeded"),
        ("rate_503", 503, "upstream_error", "all_channels_failed"),
    ],
)
def test_post_error_faults_fire_at_their_share(
    make_api: Callable[..., Api], option: str, status: int, error_type: str, code: str | None
) -> None:
    """A 0.3 share of 200 distinct POSTs gets the fault's status and error body; the rest 200."""
    api = make_api(**{option: 0.3})
    responses = [api.post(_body(i)) for i in range(N)]
    faulted = [r for r in responses if r.status_code == status]
    assert 0.2 * N <= len(faulted) <= 0.4 * N
    assert all(r.status_code == 200 for r in responses if r.status_code != status)
    error = error_of(faulted[0])
    assert (error["type"], error["code"]) == (error_type, code)
    assert api.sim.stats().by_status == {status: len(faulted), 200: N - len(faulted)}


def test_malformed_answers_are_200s_whose_body_is_not_json(make_api: Callable[..., Api]) -> None:
    """malformed_rate: a share of answers are 200 with a truncated JSON body."""
    api = make_api(malformed_rate=0.3)
    bad = 0
    for i in range(N):
        response = api.post(_body(i))
        assert response.status_code == 200
        try:
            json.loads(response.content)
        except ValueError:
            bad += 1
    assert 0.2 * N <= bad <= 0.4 * N


def test_faults_are_decided_by_seed_and_body_not_arrival_order(
    make_api: Callable[..., Api],
) -> None:
    """Same seed, opposite sending order: identical outcome per body; another seed differs."""
    forward = _statuses(make_api(seed=11, fail_rate=0.3), range(60))
    backward = _statuses(make_api(seed=11, fail_rate=0.3), list(reversed(range(60))))
    other_seed = _statuses(make_api(seed=12, fail_rate=0.3), range(60))
    assert forward == backward
    assert forward != other_seed


def test_a_retry_of_the_same_body_can_succeed(make_api: Callable[..., Api]) -> None:
    """The n-th sighting of a body draws afresh: most failed bodies succeed within retries."""
    api = make_api(fail_rate=0.5)
    failed = [i for i, status in _statuses(api, range(40)).items() if status == 500]
    assert failed
    recovered = 0
    for i in failed:
        statuses = [api.post(_body(i)).status_code for _ in range(6)]
        recovered += 200 in statuses
    assert recovered >= len(failed) * 0.8
    assert api.sim.stats().bodies_seen == 40


@pytest.mark.parametrize(("seconds", "header", "ms"), [(1.0, "1", "1000"), (2.5, "2.5", "2500")])
def test_429_carries_retry_after_and_retry_after_ms(
    make_api: Callable[..., Api], seconds: float, header: str, ms: str
) -> None:
    """Rate-limit answers say when to come back, in seconds and in milliseconds."""
    api = make_api(rate_429=1.0, retry_after_s=seconds)
    response = api.post(_body(0))
    assert response.status_code == 429
    assert (response.headers["Retry-After"], response.headers["retry-after-ms"]) == (header, ms)


def test_rps_limit_is_a_token_bucket_with_one_second_of_burst(
    make_api: Callable[..., Api],
) -> None:
    """rps_limit=2: a quick burst gets ~2 through, then 429s whose wait is honest."""
    api = make_api(rps_limit=2.0)
    started = time.monotonic()
    statuses = [api.post(_body(i)).status_code for i in range(10)]
    elapsed = time.monotonic() - started
    passed = statuses.count(200)
    assert 2 <= passed <= 2 + 2 * elapsed + 1  # burst, plus what refilled meanwhile
    assert statuses.count(429) == 10 - passed
    limited = next(r for r in (api.post(_body(i)) for i in range(10, 50)) if r.status_code == 429)
    wait_ms = int(limited.headers["retry-after-ms"])
    assert 0 < wait_ms <= 500  # at most one token's refill time
    time.sleep(wait_ms / 1000 + 0.01)  # waiting as told is always enough
    assert api.post(_body(100)).status_code == 200


def test_outage_window_answers_every_api_request_503(make_api: Callable[..., Api]) -> None:
    """Inside the window POSTs, polls and the models list all get 503 all_channels_failed."""
    api = make_api(outage_start_s=0.0, outage_duration_s=3600.0)
    for response in (
        api.post(_body(0)),
        api.get("/v1/tasks/ldtask_x"),
        api.get("/v1/models?recommended_for=image"),
    ):
        assert response.status_code == 503
        assert error_of(response)["code"] == "all_channels_failed"


def test_outage_window_is_measured_from_server_start(make_api: Callable[..., Api]) -> None:
    """Before the window opens, and after it closes, requests are answered normally."""
    later = make_api(outage_start_s=3600.0, outage_duration_s=60.0)
    assert later.post(_body(0)).status_code == 200
    over = make_api(outage_start_s=0.0, outage_duration_s=0.1)
    time.sleep(0.15)  # outlive the window; the bound is a lower one, so this cannot flake
    assert over.post(_body(0)).status_code == 200


def test_poll_faults_leave_the_task_running(make_api: Callable[..., Api]) -> None:
    """poll_fail_rate: a share of polls are 500s; the task itself still completes."""
    api = make_api(poll_fail_rate=0.4, task_seconds=0.0)
    poll_url = api.post({"model": "flux-pro", "prompt": "cat"}).json()["poll_url"]
    responses = [api.get(poll_url) for _ in range(N)]
    failed = [r for r in responses if r.status_code == 500]
    assert 0.3 * N <= len(failed) <= 0.5 * N
    assert error_of(failed[0])["type"] == "server_error"
    assert {r.json()["status"] for r in responses if r.status_code == 200} == {"completed"}


def test_download_faults_fire_at_their_share(make_api: Callable[..., Api]) -> None:
    """download_fail_rate: a share of fetches of one URL are 500s, the others the image."""
    api = make_api(download_fail_rate=0.4)
    url = api.post(_body(0)).json()["data"][0]["url"]
    responses = [api.http.get(url) for _ in range(N)]
    good = [r for r in responses if r.status_code == 200]
    assert 0.5 * N <= len(good) <= 0.7 * N
    assert all(r.status_code == 500 for r in responses if r.status_code != 200)
    assert decode(good[0].content) == Decoded("png", 256, 256)


def test_slow_share_is_decided_per_request() -> None:
    """slow_rate=0.25 delays about a quarter of requests by slow_s, the same ones every time."""
    config = SimConfig(slow_rate=0.25, slow_s=3.0)
    first, again = SimState(config), SimState(config)
    delays = [first.extra_delay(f"key{i}", 0) for i in range(1000)]
    assert set(delays) == {0.0, 3.0}
    assert 200 <= delays.count(3.0) <= 300
    assert delays == [again.extra_delay(f"key{i}", 0) for i in range(1000)]


def test_latency_and_slow_answers_take_at_least_their_delay(
    make_api: Callable[..., Api],
) -> None:
    """latency_s plus slow_s hold every answer back (a lower bound: sleeps never end early)."""
    api = make_api(latency_s=0.1, slow_rate=1.0, slow_s=0.1)
    started = time.monotonic()
    assert api.post(_body(0)).status_code == 200
    assert time.monotonic() - started >= 0.2


def test_image_urls_expire_after_their_ttl(make_api: Callable[..., Api]) -> None:
    """Past url_ttl_s an image URL answers 404, like an expired CDN link."""
    api = make_api(url_ttl_s=0.1)
    url = api.post(_body(0)).json()["data"][0]["url"]
    time.sleep(0.15)  # lower bound only: once expired, a URL stays expired
    response = api.http.get(url)
    assert response.status_code == 404
    assert error_of(response)["message"] == "This image URL has expired or does not exist."
