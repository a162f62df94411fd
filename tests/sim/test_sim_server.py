"""The server around the provider: image origin, counters, the models list, lifecycle, speed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx
import pytest

from runner.sim import SimConfig, SimServer, SimStats
from runner.sim.bench import measure

from .kit import AUTH, Api, Decoded, decode, error_of


def test_image_origin_other_serves_images_from_another_port(make_api: Callable[..., Api]) -> None:
    """image_origin="other": URLs point at a second listener, and only it serves them."""
    api = make_api(image_origin="other")
    url = api.post({"model": "dall-e-2", "prompt": "cat", "size": "256x256"}).json()["data"][0][
        "url"
    ]
    assert url.startswith(api.sim.files_origin + "/files/")
    assert urlsplit(url).port != urlsplit(api.sim.origin).port
    assert decode(api.http.get(url).content) == Decoded("png", 256, 256)
    same_port = api.sim.origin + urlsplit(url).path
    assert api.http.get(same_port).status_code == 404


def test_image_origin_same_serves_images_on_the_api_port(api: Api) -> None:
    """By default image URLs live on the API's own origin."""
    url = api.post({"model": "dall-e-2", "prompt": "cat"}).json()["data"][0]["url"]
    assert url.startswith(api.sim.origin + "/files/img_")
    assert api.sim.files_origin == api.sim.origin


def test_stats_count_what_the_server_saw(make_api: Callable[..., Api]) -> None:
    """Each counter moves with its kind of request; auth on image requests is counted."""
    api = make_api(task_seconds=0.0)
    url = api.post({"model": "dall-e-2", "prompt": "a"}).json()["data"][0]["url"]
    api.post({"model": "dall-e-2", "prompt": "a"})  # same body again: not a new body
    api.post({"model": "nope", "prompt": "a"})
    task = api.post({"model": "flux-pro", "prompt": "b"}).json()
    api.get(task["poll_url"])
    api.get(f"/v1/tasks/{task['task_id']}")
    api.http.get(url)
    api.http.get(url, headers=AUTH)  # a client leaking its key to the image host
    api.get("/v1/models?recommended_for=image")
    assert api.sim.stats() == SimStats(
        generations=4,
        polls=2,
        downloads=2,
        models_calls=1,
        by_status={200: 3, 404: 1},
        tasks_created=1,
        auth_on_image_requests=1,
        bodies_seen=3,
    )


def test_stats_over_http_and_reset(api: Api) -> None:
    """GET /_sim/stats mirrors stats(); POST /_sim/reset zeroes the counters."""
    api.post({"model": "dall-e-2", "prompt": "a"})
    over_http = api.http.get(f"{api.sim.origin}/_sim/stats").json()
    assert over_http["by_status"] == {"200": 1}
    assert SimStats.from_json(over_http) == api.sim.stats()
    assert api.http.post(f"{api.sim.origin}/_sim/reset").status_code == 200
    assert api.sim.stats() == SimStats()
    api.post({"model": "dall-e-2", "prompt": "a"})
    api.sim.reset_stats()
    assert api.sim.stats() == SimStats()


def test_control_endpoints_live_on_the_image_listener_too(make_api: Callable[..., Api]) -> None:
    """With images on another origin, its /_sim/stats reports the same shared counters."""
    api = make_api(image_origin="other")
    api.post({"model": "dall-e-2", "prompt": "a"})
    stats = api.http.get(f"{api.sim.files_origin}/_sim/stats").json()
    assert stats["generations"] == 1


def test_models_list_names_the_image_models(api: Api) -> None:
    """GET /v1/models?recommended_for=image: an OpenAI-style list of the simulated models."""
    response = api.get("/v1/models?recommended_for=image")
    assert response.status_code == 200
    listing = response.json()
    assert listing["object"] == "list"
    ids = {m["id"] for m in listing["data"]}
    assert {"dall-e-3", "gpt-image-1", "gpt-image-2", "midjourney", "flux-pro"} <= ids
    assert all(m["object"] == "model" and m["owned_by"] for m in listing["data"])
    assert error_of(api.get("/v1/models", headers={}))["type"] == "invalid_request_error"


def test_server_stops_and_frees_its_port() -> None:
    """Leaving the context stops serving: the port refuses connections afterwards."""
    with SimServer(SimConfig()) as sim:
        origin = sim.origin
    with httpx.Client(trust_env=False) as http, pytest.raises(httpx.ConnectError):
        http.get(f"{origin}/_sim/stats")


def test_a_port_in_use_fails_start_with_a_clear_error() -> None:
    """A second server on a taken port raises instead of hanging."""
    with SimServer() as first:
        port = urlsplit(first.origin).port
        assert port is not None
        with pytest.raises(RuntimeError, match="failed to start"), SimServer(port=port):
            pass


def test_serve_forever_prints_its_url_and_stops_on_sigterm() -> None:
    """`runner sim`'s engine: one line with the base URL, serving until SIGTERM, exit 0."""
    code = "from runner.sim import SimConfig, serve_forever; serve_forever(SimConfig(), port=0)"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env
    ) as process:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("simulator listening on http://127.0.0.1:")
        base_url = line.rsplit(" ", 1)[1]
        with httpx.Client(trust_env=False) as http:
            models = http.get(f"{base_url}/models", headers=AUTH)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    assert models.status_code == 200
    assert base_url.endswith("/v1")


@pytest.mark.parametrize("in_process", [True, False])
def test_bench_drives_every_request_to_a_200(in_process: bool) -> None:
    """The throughput script sends exactly n requests and checks each was answered 200."""
    result = measure(n=300, concurrency=16, in_process=in_process)
    assert result.requests == 300
    assert result.rps > 0
    assert (result.server_cpu_s is None) == in_process
