"""Failures without a usable HTTP answer: sent or not, answered or not."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.client_reqrep import ConnectionKey

from runner.client import ProviderClient
from runner.client.classify import classify_transport_error
from runner.client.errors import AmbiguousError, FatalError, ProviderError, RetryableError

from .kit import API_KEY, Reply, ScriptServer, assert_no_key

GEN = "/v1/images/generations"
BODY = {"model": "dall-e-3", "prompt": "a cat"}


@pytest_asyncio.fixture
async def short_client(server: ScriptServer) -> AsyncIterator[ProviderClient]:
    """A client over the default transport with a short read timeout."""
    async with ProviderClient(
        server.base_url, API_KEY, timeout_s=0.3, connect_timeout_s=2.0
    ) as client:
        yield client


async def _submit_error(client: ProviderClient) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        await client.submit(BODY)
    assert_no_key(caught.value)
    return caught.value


@pytest.mark.asyncio
async def test_read_timeout_is_ambiguous(
    server: ScriptServer, short_client: ProviderClient
) -> None:
    """A request sent and never answered within the read timeout may have been charged."""
    server.on("POST", GEN, Reply(json={"data": []}, delay=30))
    exc = await _submit_error(short_client)
    assert type(exc) is AmbiguousError
    assert isinstance(exc, AmbiguousError)
    assert (exc.info.code, exc.sent, exc.answered) == ("read_timeout", True, False)
    assert len(server.seen) == 1


@pytest.mark.asyncio
async def test_connection_refused_is_retryable_and_not_sent(dead_port: int) -> None:
    """Nothing listening: the request never left, so a retry cannot double-charge."""
    async with ProviderClient(f"http://127.0.0.1:{dead_port}/v1", API_KEY) as client:
        exc = await _submit_error(client)
        assert type(exc) is RetryableError
        assert (exc.sent, exc.info.code, exc.info.http_status) == (False, "connect_error", None)
        with pytest.raises(RetryableError) as polled:
            await client.poll("t1", None)
        assert polled.value.sent is False


@pytest.mark.asyncio
async def test_connection_closed_mid_response_is_ambiguous(
    server: ScriptServer, short_client: ProviderClient
) -> None:
    """A 200 whose body stops half way (connection closed) is an unanswered, ambiguous send."""
    answer = {"created": 1, "data": [{"url": "https://cdn.test/a.png"}]}
    server.on("POST", GEN, Reply(json=answer, drop_after=10))
    exc = await _submit_error(short_client)
    assert type(exc) is AmbiguousError
    assert (exc.info.code, exc.sent, exc.info.http_status) == ("connection_lost", True, None)


@pytest.mark.asyncio
async def test_connection_closed_before_answer_is_ambiguous_not_retryable(
    server: ScriptServer, short_client: ProviderClient
) -> None:
    """The server read the request then hung up: sent, so ambiguous, never a plain retry."""
    server.on("POST", GEN, Reply(close_without_answer=True))
    exc = await _submit_error(short_client)
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
    """An exception as a wrapping transport would raise it: its own type, caused by aiohttp's."""
    outer.__cause__ = cause
    return outer


def _key() -> ConnectionKey:
    return ConnectionKey("api.test", 443, True, True, None, None, None)


def _connector_error() -> aiohttp.ClientConnectorError:
    return aiohttp.ClientConnectorError(_key(), ConnectionRefusedError(111, "refused"))


def _certificate_error() -> aiohttp.ClientConnectorCertificateError:
    return aiohttp.ClientConnectorCertificateError(
        _key(), ssl.SSLCertVerificationError("certificate verify failed")
    )


@pytest.mark.parametrize(
    ("exc", "cls", "code", "sent"),
    [
        (_connector_error(), RetryableError, "connect_error", False),
        (aiohttp.ClientConnectorDNSError(_key(), OSError(-2, "Name or service not known")),
         RetryableError, "connect_error", False),
        (aiohttp.ConnectionTimeoutError("pool slot or connect"), RetryableError,
         "connect_error", False),
        (aiohttp.SocketTimeoutError("Timeout on reading data from socket"), AmbiguousError,
         "read_timeout", True),
        (aiohttp.ServerDisconnectedError(), AmbiguousError, "connection_lost", True),
        (aiohttp.ClientOSError(104, "Connection reset by peer"), AmbiguousError,
         "connection_lost", True),
        (aiohttp.ClientConnectionResetError("Cannot write to closing transport"),
         AmbiguousError, "connection_lost", True),
        (aiohttp.ClientPayloadError("Response payload is not completed"), AmbiguousError,
         "connection_lost", True),
        (_certificate_error(), FatalError, "tls_certificate", False),
        (aiohttp.InvalidUrlClientError("http://[bad"), FatalError, "bad_url", False),
        (aiohttp.NonHttpUrlClientError("ftp://h/x"), FatalError, "bad_url", False),
        # Wrapped: the aiohttp cause decides, not the outer type.
        (_wrapped(TimeoutError("pool"), aiohttp.ConnectionTimeoutError("t")), RetryableError,
         "connect_error", False),
        (_wrapped(ConnectionError("lost"), aiohttp.ServerDisconnectedError()), AmbiguousError,
         "connection_lost", True),
        (_wrapped(ConnectionError("tls"), ssl.SSLCertVerificationError("bad cert")), FatalError,
         "tls_certificate", False),
        # A transport's own bare errors: refused is never sent; a timeout or reset may be.
        (ConnectionRefusedError(111, "refused"), RetryableError, "connect_error", False),
        (TimeoutError("slow"), AmbiguousError, "read_timeout", True),
        (ConnectionResetError(104, "reset"), AmbiguousError, "connection_lost", True),
    ],
)  # fmt: skip
def test_transport_exception_classification(
    exc: Exception, cls: type[ProviderError], code: str, sent: bool
) -> None:
    """aiohttp's exception type (or the aiohttp cause of a wrapper) decides sent or not."""
    result = classify_transport_error(exc, API_KEY)
    assert type(result) is cls
    assert (result.info.code, result.sent) == (code, sent)
