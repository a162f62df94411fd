"""The transport boundary: a Transport of our own plugs in; the aiohttp one reads bodies safely."""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Self

import aiohttp
import pytest
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from runner.client import ProviderClient
from runner.client.errors import AmbiguousError, DownloadError, RetryableError
from runner.client.transport import (
    API_BODY_BYTES,
    ERROR_BODY_BYTES,
    AiohttpTransport,
    BodyTooLargeError,
    Reply,
    Transport,
    TransportFailure,
    wire_url,
)
from runner.types import ImageRef, TaskState

from . import kit
from .kit import API_KEY, ScriptServer, tiny_image

BASE = "https://api.test/v1"
PNG = tiny_image("PNG", (4, 3))


@dataclass(frozen=True)
class Sent:
    """One request as the fake transport was asked to send it."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None
    max_body: int


def answer(status: int, body: bytes = b"", **headers: str) -> Reply:
    """A reply as a transport returns it, with case-insensitive headers."""
    return Reply(status, "", CIMultiDictProxy(CIMultiDict(headers)), body)


class FakeTransport:
    """Answers from a script and records every request: the Transport protocol, nothing more."""

    def __init__(self, *answers: Reply | Exception) -> None:
        self.answers = list(answers)
        self.sent: list[Sent] = []
        self.entered = False
        self.closed = False

    async def __aenter__(self) -> Self:
        self.entered = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        self.closed = True

    async def send(
        self, method: str, url: URL, headers: Mapping[str, str], body: bytes | None, max_body: int
    ) -> Reply:
        self.sent.append(Sent(method, str(url), dict(headers), body, max_body))
        reply = self.answers.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply


def _json(payload: object) -> bytes:
    return json.dumps(payload).encode()


@pytest.mark.asyncio
async def test_a_transport_of_our_own_plugs_in() -> None:
    """A fake Transport is entered, sent exactly the client's requests, and closed with it."""
    task = {"task_id": "t1", "status": "pending", "poll_url": "/v1/tasks/t1"}
    done = {"status": "completed", "data": [{"url": "https://cdn.test/a.png"}]}
    fake = FakeTransport(
        answer(200, _json(task)),
        answer(200, _json(done)),
        answer(302, location="https://cdn.test/a.png?sig=1"),
        answer(200, PNG),
    )
    transport: Transport = fake
    client = ProviderClient(
        BASE, API_KEY, headers={"X-Extra": "1"}, max_download_bytes=4096, transport=transport
    )
    async with client:
        assert fake.entered
        submission = await client.submit({"model": "m", "prompt": "é", "n": 1})
        status = await client.poll("t1", submission.poll_url)
        image = await client.download("https://api.test/v1/files/a")
    assert fake.closed
    assert submission.poll_url == "https://api.test/v1/tasks/t1"
    assert (status.state, status.images) == (
        TaskState.COMPLETED,
        (ImageRef(url="https://cdn.test/a.png"),),
    )
    assert (image.format, image.width, image.height) == ("png", 4, 3)
    post, get, hop, cdn = fake.sent
    auth = {"Authorization": f"Bearer {API_KEY}", "X-Extra": "1"}
    assert post == Sent(
        "POST",
        f"{BASE}/images/generations",
        {**auth, "Content-Type": "application/json"},
        '{"model":"m","prompt":"é","n":1}'.encode(),
        API_BODY_BYTES,
    )
    assert get == Sent("GET", f"{BASE}/tasks/t1", auth, None, API_BODY_BYTES)
    assert hop == Sent("GET", "https://api.test/v1/files/a", auth, None, 4096)
    assert cdn == Sent("GET", "https://cdn.test/a.png?sig=1", {}, None, 4096)


@pytest.mark.asyncio
async def test_fake_transport_failures_are_classified() -> None:
    """A plugged-in transport's aiohttp exceptions and size errors map like the default's."""
    fake = FakeTransport(
        aiohttp.ConnectionTimeoutError("pool"),
        aiohttp.ServerDisconnectedError(),
        BodyTooLargeError(200, 10),
        BodyTooLargeError(200, 10),
    )
    async with ProviderClient(BASE, API_KEY, transport=fake) as client:
        with pytest.raises(RetryableError) as never_sent:
            await client.submit({"model": "m", "prompt": "p"})
        with pytest.raises(AmbiguousError) as lost:
            await client.submit({"model": "m", "prompt": "p"})
        with pytest.raises(AmbiguousError) as huge:
            await client.submit({"model": "m", "prompt": "p"})
        with pytest.raises(DownloadError) as too_large:
            await client.download("https://cdn.test/a.png")
    assert (never_sent.value.sent, never_sent.value.info.code) == (False, "connect_error")
    assert (lost.value.answered, lost.value.info.code) == (False, "connection_lost")
    assert (huge.value.answered, huge.value.info.code) == (True, "too_large")
    assert (too_large.value.info.code, too_large.value.info.http_status) == ("too_large", 200)


def test_construction_opens_nothing() -> None:
    """No session or connector exists before `async with`: building one needs no event loop."""
    ProviderClient(BASE, API_KEY)
    AiohttpTransport(timeout_s=1.0)


@pytest.mark.asyncio
async def test_send_outside_async_with_is_refused(server: ScriptServer) -> None:
    """Using the default transport before entering it is a programming error, said plainly."""
    with pytest.raises(RuntimeError, match="async with"):
        await AiohttpTransport().send("GET", URL(server.origin), {}, None, 100)


@pytest.mark.asyncio
async def test_error_body_is_read_only_to_the_excerpt_cap(server: ScriptServer) -> None:
    """A huge error body is not buffered: the reply holds its first ERROR_BODY_BYTES only."""
    page = b"<h1>Bad Gateway</h1>" + b"x" * (4 * ERROR_BODY_BYTES)
    server.on("GET", "/err", kit.Reply(status=502, body=page))
    async with AiohttpTransport() as transport:
        reply = await transport.send("GET", URL(f"{server.origin}/err"), {}, None, 2**30)
    assert reply.status == 502
    assert reply.body == page[:ERROR_BODY_BYTES]


@pytest.mark.asyncio
async def test_success_body_over_cap_raises_with_and_without_length(server: ScriptServer) -> None:
    """A 2xx over max_body raises BodyTooLargeError, declared by Content-Length or chunked."""
    server.on("GET", "/declared", kit.Reply(body=b"y" * 5000))
    server.on("GET", "/exact", kit.Reply(body=b"z" * 4000))
    async with AiohttpTransport() as transport:
        with pytest.raises(BodyTooLargeError) as caught:
            await transport.send("GET", URL(f"{server.origin}/declared"), {}, None, 4000)
        exact = await transport.send("GET", URL(f"{server.origin}/exact"), {}, None, 4000)
    assert (caught.value.status, caught.value.limit) == (200, 4000)
    assert exact.body == b"z" * 4000


@pytest.mark.asyncio
async def test_compressed_answer_is_decoded_and_capped_by_its_decoded_size(
    server: ScriptServer,
) -> None:
    """gzip answers are decompressed; the cap counts decoded bytes, so a gzip bomb is stopped."""
    answer_json = {"created": 1, "data": [{"b64_json": "aGVsbG8="}]}
    zipped = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
    server.on("POST", "/v1/images/generations", kit.Reply(body=gzip.compress(_json(answer_json)),
              headers=zipped))  # fmt: skip
    bomb = gzip.compress(b"\0" * 2_000_000)
    assert len(bomb) < 10_000
    server.on("GET", "/bomb.png", kit.Reply(body=bomb, headers={"Content-Encoding": "gzip"}))
    async with ProviderClient(server.base_url, None, max_download_bytes=100_000) as client:
        submission = await client.submit({"model": "m", "prompt": "p"})
        with pytest.raises(DownloadError) as caught:
            await client.download(f"{server.origin}/bomb.png")
    assert submission.images == (ImageRef(b64_json="aGVsbG8="),)
    assert caught.value.info.code == "too_large"


@pytest.mark.asyncio
async def test_urls_go_out_as_issued_and_user_agent_is_ours(server: ScriptServer) -> None:
    """A signed URL's escapes reach the server untouched; a raw space is escaped; UA is ours."""
    signed = "/img/a.png?se=2026-01-01T00%3A00%3A00Z&sig=ab%2Bcd%3D&x=a+b"
    server.on("GET", "/img/a.png", kit.Reply(body=PNG))
    server.on("GET", "/img/b c.png", kit.Reply(body=PNG))
    async with ProviderClient(server.base_url, None) as client:
        await client.download(server.origin + signed)
        await client.download(f"{server.origin}/img/b c.png")
    assert [seen.raw_path for seen in server.seen] == [signed, "/img/b%20c.png"]
    assert server.seen[0].headers["User-Agent"] == "runner/0.1"


def test_wire_url_refuses_what_cannot_be_a_url() -> None:
    """A URL yarl cannot build fails as a bad_url transport failure (it stops the run)."""
    with pytest.raises(TransportFailure) as caught:
        wire_url("http://[::1/x")
    assert caught.value.kind == "bad_url"
    assert wire_url("http://h/a%2Fb?q=%3A").raw_path_qs == "/a%2Fb?q=%3A"
