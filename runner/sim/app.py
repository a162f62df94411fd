"""aiohttp handlers: the simulator's HTTP face over SimState.

Handlers stay lean (no per-request logging, precomputed bodies) because the benchmarks need the
simulator to be much faster than any client it measures.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass

from aiohttp import web

from runner.sim import answers, imaging
from runner.sim.catalog import validate
from runner.sim.errors import (
    ALL_CHANNELS_FAILED,
    BAD_JSON,
    BAD_KEY,
    MISSING_KEY,
    RATE_LIMITED,
    SERVER_ERROR,
    TASK_NOT_FOUND,
    URL_EXPIRED,
    ApiError,
    ApiFailure,
    not_found_url,
)
from runner.sim.state import PostFault, SimState, canonical_digest

JSON_TYPE = "application/json"
TASK_ROUTES = ("/v1/tasks/{task_id}", "/v1/images/generations/{task_id}", "/v1/images/{task_id}")


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    headers: Mapping[str, str] | None = None


def format_seconds(seconds: float) -> str:
    """Retry-After value: whole seconds when integral, else a decimal (clients parse floats)."""
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:.3f}".rstrip("0")


def retry_headers(seconds: float) -> dict[str, str]:
    """Both headers the OpenAI SDK reads, rounded up so that waiting as told is enough."""
    ms = max(1, math.ceil(seconds * 1000))
    return {"Retry-After": format_seconds(ms / 1000), "retry-after-ms": str(ms)}


def _error(error: ApiError, headers: Mapping[str, str] | None = None) -> Reply:
    return Reply(error.status, error.body(), headers)


def _respond(reply: Reply) -> web.Response:
    return web.Response(
        status=reply.status, body=reply.body, content_type=JSON_TYPE, headers=reply.headers
    )


class SimApp:
    """Route handlers bound to one simulator's state."""

    def __init__(self, state: SimState) -> None:
        self.state = state
        self._models_body = answers.models_list()

    def api_app(self, serve_files: bool) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/images/generations", self.generations)
        for route in TASK_ROUTES:
            app.router.add_get(route, self.poll)
        app.router.add_get("/v1/models", self.models)
        if serve_files:
            app.router.add_get("/files/{name}", self.download)
        self._add_control(app)
        return app

    def files_app(self) -> web.Application:
        """The second listener when images live on another origin."""
        app = web.Application()
        app.router.add_get("/files/{name}", self.download)
        self._add_control(app)
        return app

    def _add_control(self, app: web.Application) -> None:
        app.router.add_get("/_sim/stats", self.stats)
        app.router.add_post("/_sim/reset", self.reset)
        app.router.add_route("*", "/{tail:.*}", self.not_found)

    def _refusal(self, request: web.Request) -> Reply | None:
        """Auth, then the outage window: what every API request must pass first."""
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else ""
        if not token:
            return _error(MISSING_KEY)
        expected = self.state.config.api_key
        if expected is not None and not hmac.compare_digest(token.encode(), expected.encode()):
            return _error(BAD_KEY)
        if self.state.in_outage(self.state.clock()):
            return _error(ALL_CHANNELS_FAILED)
        return None

    async def generations(self, request: web.Request) -> web.Response:
        reply = await self._generate(request)
        self.state.stats.generation(reply.status)
        return _respond(reply)

    async def _generate(self, request: web.Request) -> Reply:
        state = self.state
        raw = await request.read()
        if state.config.latency_s:
            await asyncio.sleep(state.config.latency_s)
        refusal = self._refusal(request)
        if refusal is not None:
            return refusal
        wait = state.rps_wait(state.clock())
        if wait:
            return _error(RATE_LIMITED, retry_headers(wait))
        try:
            body = json.loads(raw)
        except ValueError:
            return _error(BAD_JSON)
        return await self._answer(body)

    async def _answer(self, body: object) -> Reply:
        state = self.state
        digest = canonical_digest(body)
        key, occurrence = digest.hex(), state.observe(digest)
        delay = state.extra_delay(key, occurrence)
        if delay:
            await asyncio.sleep(delay)
        fault = state.post_fault(key, occurrence)
        if fault is PostFault.RATE_LIMITED:
            return _error(RATE_LIMITED, retry_headers(state.config.retry_after_s))
        if fault is PostFault.UNAVAILABLE:
            return _error(ALL_CHANNELS_FAILED)
        if fault is PostFault.SERVER_ERROR:
            return _error(SERVER_ERROR)
        try:
            spec = validate(body, state.config.force_async)
        except ApiFailure as failure:
            return _error(failure.error)
        if spec.is_async:
            payload = answers.task_created(state.create_task(spec, key, occurrence))
        else:
            payload = answers.sync_answer(state, spec, key, occurrence)
        if fault is PostFault.MALFORMED:
            payload = payload[: len(payload) // 2]  # paid for, but unreadable
        return Reply(200, payload)

    async def poll(self, request: web.Request) -> web.Response:
        state = self.state
        state.stats.count("polls")
        refusal = self._refusal(request)
        if refusal is not None:
            return _respond(refusal)
        task = state.tasks.get(request.match_info["task_id"])
        if task is None:
            return _respond(_error(TASK_NOT_FOUND))
        if state.fails("poll_fail", task.task_id, state.config.poll_fail_rate):
            return _respond(_error(SERVER_ERROR))
        return _respond(Reply(200, answers.task_body(state, task, state.clock())))

    async def models(self, request: web.Request) -> web.Response:
        self.state.stats.count("models_calls")
        refusal = self._refusal(request)
        return _respond(refusal or Reply(200, self._models_body))

    async def download(self, request: web.Request) -> web.Response:
        state = self.state
        state.stats.count("downloads")
        if "Authorization" in request.headers:
            state.stats.count("auth_on_image_requests")
        name = request.match_info["name"]
        entry = state.files.get(name)
        now = state.clock()
        if entry is None or not entry.available_at <= now < entry.expires_at:
            return _respond(_error(URL_EXPIRED))
        if state.fails("download_fail", name, state.config.download_fail_rate):
            return _respond(_error(SERVER_ERROR))
        data = imaging.encode(entry.fmt, entry.width, entry.height, entry.colour)
        return web.Response(body=data, content_type=imaging.CONTENT_TYPES[entry.fmt])

    async def stats(self, request: web.Request) -> web.Response:
        snapshot = self.state.stats.snapshot()
        return _respond(Reply(200, answers.dumps(snapshot.to_json())))

    async def reset(self, request: web.Request) -> web.Response:
        self.state.stats.reset()
        return _respond(Reply(200, b'{"reset":true}'))

    async def not_found(self, request: web.Request) -> web.Response:
        return _respond(_error(not_found_url(request.method, request.path)))
