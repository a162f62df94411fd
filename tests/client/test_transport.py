"""Failures without a usable HTTP answer: sent or not, answered or not."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Callable

import aiohttp
import httpx
import pytest
import pytest_asyncio
from aiohttp import web

from runner.client import ProviderClient
from runner.client.classify import classify_transport_error
from runner.client.errors import AmbiguousError, FatalError, ProviderError, RetryableError

from .kit import API_KEY, Reply, ScriptServer, assert_no_key

GEN = "/v1/images/generations"
BODY = {"model": "dall-e-3", "prompt": "a cat"}

TransportFactory = Callable[[], httpx.AsyncBaseTransport | None]
TRANSPORTS: dict[str, TransportFactory] = {
    "aiohttp": lambda: None,  # the client's default: httpx over httpx-aiohttp
    "httpx": lambda: httpx.AsyncHTTPTransport(),  # swapped in, as a test or future transport would
}


@pytest_asyncio.fixture(params=sorted(TRANSPORTS))
async def any_client(
    request: pytest.FixtureRequest, server: ScriptServer
) -> AsyncIterator[ProviderClient]:
    """A client with a short read timeout, over each transport the classification must hold for."""
    transport = TRANSPORTS[request.param]()
    async with ProviderClient(
        server.base_url, API_KEY, timeout_s=0.3, connect_timeout_s=2.0, transport=transport
    ) as client:
        yield client


async def _submit_error(client: ProviderClient) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        await client.submit(BODY)
    assert_no_key(caught.value)
    return caught.value


@pytest.mark.asyncio
async def test_read_timeout_is_ambiguous(server: ScriptServer, any_client: ProviderClient) -> None:
    """A request sent and never answered within the read timeout may have been charged."""
    server.on("POST", GEN, Reply(json={"data": []}, delay=30))
    exc = await _submit_error(any_client)
    assert type(exc) is AmbiguousError
    assert isinstance(exc, AmbiguousError)
    assert (exc.info.code, exc.sent, exc.answered) == ("read_timeout", True, False)
    assert len(server.seen) == 1


@pytest.mark.asyncio
async def test_connection_refused_is_retryable_and_not_sent(dead_port: int) -> None:
    """Nothing listening: the request never left, so a retry cannot double-charge."""
    for transport in (None, httpx.AsyncHTTPTransport()):
        async with ProviderClient(
            f"http://127.0.0.1:{dead_port}/v1", API_KEY, transport=transport
        ) as client:
            exc = await _submit_error(client)
            assert type(exc) is RetryableError
            assert (exc.sent, exc.info.code, exc.info.http_status) == (False, "connect_error", None)
            with pytest.raises(RetryableError) as polled:
                await client.poll("t1", None)
            assert polled.value.sent is False


@pytest.mark.asyncio
async def test_connection_closed_mid_response_is_ambiguous(
    server: ScriptServer, any_client: ProviderClient
) -> None:
    """A 200 whose body stops half way (connection closed) is an unanswered, ambiguous send."""
    answer = {"created": 1, "data": [{"url": "https://cdn.test/a.png"}]}
    server.on("POST", GEN, Reply(json=answer, drop_after=10))
    exc = await _submit_error(any_client)
    assert type(exc) is AmbiguousError
    assert (exc.info.code, exc.sent, exc.info.http_status) == ("connection_lost", True, None)


@pytest.mark.asyncio
async def test_connection_closed_before_answer_is_ambiguous_not_retryable(
    server: ScriptServer, any_client: ProviderClient
) -> None:
    """The server read the request then hung up: sent (httpx-aiohttp calls it ConnectTimeout)."""
    server.on("POST", GEN, Reply(close_without_answer=True))
    exc = await _submit_error(any_client)
    assert type(exc) is AmbiguousError
    assert (exc.info.code, exc.sent) == ("connection_lost", True)
    assert server.seen[0].json() == BODY


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("reply", "code"),
    [
        (Reply(body=b'{"created": 1, "data": [{"url": "https://cdn.te'), "invalid_json"),
        (Reply(body=b"<html>ok</html>"), "invalid_json"),
        (Reply(json={"created": 1}), "missing_data"),
        (Reply(json={"created": 1, "data": [{"url": ""}]}), "missing_data"),
        (Reply(json=[1, 2]), "invalid_json"),
    ],
)
async def test_unusable_200_is_ambiguous_and_answered(
    server: ScriptServer, client: ProviderClient, reply: Reply, code: str
) -> None:
    """A 200 that is not JSON or lacks data/task_id was paid for but is unusable: answered."""
    server.on("POST", GEN, reply)
    exc = await _submit_error(client)
    assert type(exc) is AmbiguousError
    assert isinstance(exc, AmbiguousError)
    assert (exc.info.code, exc.info.http_status, exc.answered) == (code, 200, True)


@pytest.mark.asyncio
async def test_connector_limit_follows_max_connections(server: ScriptServer) -> None:
    """The default transport never holds more than max_connections requests open."""
    in_flight, peak = 0, 0

    async def handler(request: web.Request) -> web.StreamResponse:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.05)
        in_flight -= 1
        return web.json_response({"data": [{"url": "https://cdn.test/a.png"}]})

    server.on("POST", GEN, handler)
    client = ProviderClient(server.base_url, API_KEY, max_connections=2)
    async with client, asyncio.TaskGroup() as group:
        for _ in range(6):
            group.create_task(client.submit(BODY))
    assert len(server.seen) == 6
    assert 1 <= peak <= 2


def _wrapped(outer: Exception, cause: BaseException) -> Exception:
    """An exception as a transport raises it: the mapped type, caused by the original."""
    outer.__cause__ = cause
    return outer


@pytest.mark.parametrize(
    ("exc", "cls", "sent"),
    [
        # httpx-aiohttp maps a pool/connect timeout and a disconnect to the same ConnectTimeout.
        (_wrapped(httpx.ConnectTimeout("pool"), aiohttp.ConnectionTimeoutError("t")),
         RetryableError, False),
        (_wrapped(httpx.ConnectTimeout("Server disconnected"),
                  aiohttp.ServerDisconnectedError()), AmbiguousError, True),
        (_wrapped(httpx.ConnectTimeout("reset"), aiohttp.ClientOSError(104, "reset")),
         AmbiguousError, True),
        (httpx.PoolTimeout("pool"), RetryableError, False),
        (httpx.ConnectTimeout("connect"), RetryableError, False),
        (httpx.ReadError("reset"), AmbiguousError, True),
        (httpx.RemoteProtocolError("peer closed"), AmbiguousError, True),
        (_wrapped(httpx.ConnectError("tls"), ssl.SSLCertVerificationError("bad cert")),
         FatalError, False),
    ],
)  # fmt: skip
def test_transport_exception_classification(
    exc: Exception, cls: type[ProviderError], sent: bool
) -> None:
    """The cause chain, not the mapped httpx type, decides whether the request was sent."""
    result = classify_transport_error(exc, API_KEY)
    assert type(result) is cls
    assert result.sent is sent
