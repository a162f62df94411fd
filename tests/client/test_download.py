"""Image downloads: credentials by origin, redirects, size cap, and DownloadError for all else."""

from __future__ import annotations

import hashlib
import io
import random
from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web
from PIL import Image

from runner.client import ProviderClient
from runner.client.errors import DownloadError

from .kit import API_KEY, Reply, ScriptServer, assert_no_key, tiny_image

PNG = tiny_image("PNG", (5, 4))


def _png(data: bytes = PNG) -> Reply:
    return Reply(body=data, headers={"Content-Type": "image/png"})


@pytest.mark.asyncio
async def test_key_goes_to_api_origin_only(
    make_server: Callable[[], Awaitable[ScriptServer]],
) -> None:
    """A same-origin image carries the key and extra headers; another origin's gets neither."""
    api, cdn = await make_server(), await make_server()
    api.on("GET", "/v1/files/a.png", _png())
    cdn.on("GET", "/img/b.png", _png())
    async with ProviderClient(api.base_url, API_KEY, headers={"X-Extra": "extra-value"}) as client:
        local = await client.download(f"{api.origin}/v1/files/a.png")
        foreign = await client.download(f"{cdn.origin}/img/b.png")
    assert api.seen[0].headers["Authorization"] == f"Bearer {API_KEY}"
    assert api.seen[0].headers["X-Extra"] == "extra-value"
    assert "Authorization" not in cdn.seen[0].headers
    assert "X-Extra" not in cdn.seen[0].headers
    assert local == foreign
    assert (local.format, local.width, local.height) == ("png", 5, 4)
    assert local.sha256 == hashlib.sha256(PNG).hexdigest()
    assert local.data == PNG


@pytest.mark.asyncio
async def test_redirect_to_another_origin_drops_the_key(
    make_server: Callable[[], Awaitable[ScriptServer]],
) -> None:
    """Credentials are decided per hop: the CDN a same-origin URL redirects to gets none."""
    api, cdn = await make_server(), await make_server()
    api.on("GET", "/v1/images/x", Reply(status=302, headers={"Location": f"{cdn.origin}/x.png"}))
    cdn.on("GET", "/x.png", Reply(status=307, headers={"Location": "/final.png"}))
    cdn.on("GET", "/final.png", _png())
    async with ProviderClient(api.base_url, API_KEY, headers={"X-Extra": "1"}) as client:
        image = await client.download(f"{api.origin}/v1/images/x")
    assert image.format == "png"
    assert api.seen[0].headers["Authorization"] == f"Bearer {API_KEY}"
    assert [seen.path for seen in cdn.seen] == ["/x.png", "/final.png"]
    for seen in cdn.seen:
        assert "Authorization" not in seen.headers
        assert "X-Extra" not in seen.headers


@pytest.mark.asyncio
async def test_redirect_loop_is_a_download_error(
    server: ScriptServer, client: ProviderClient
) -> None:
    """An endless redirect chain stops with DownloadError."""
    server.on("GET", "/loop", Reply(status=302, headers={"Location": "/loop"}))
    with pytest.raises(DownloadError) as caught:
        await client.download(f"{server.origin}/loop")
    assert caught.value.info.code == "too_many_redirects"
    assert len(server.seen) == 6


@pytest.mark.asyncio
async def test_declared_size_over_cap_is_refused_before_reading(server: ScriptServer) -> None:
    """A Content-Length above max_download_bytes is refused on the header alone."""
    # The body promises len(PNG) + 1000 bytes but sends only len(PNG), then hangs up: reading it
    # would end in a lost connection, so too_large proves the header decided.
    server.on("GET", "/big.png", Reply(body=PNG, drop_after=len(PNG)))
    async with ProviderClient(server.base_url, None, max_download_bytes=len(PNG) + 500) as client:
        with pytest.raises(DownloadError) as caught:
            await client.download(f"{server.origin}/big.png")
    assert (caught.value.info.code, caught.value.info.http_status) == ("too_large", 200)


@pytest.mark.asyncio
async def test_image_exactly_at_cap_is_accepted(server: ScriptServer) -> None:
    """The cap is inclusive: an image of exactly max_download_bytes downloads."""
    server.on("GET", "/a.png", _png())
    async with ProviderClient(server.base_url, None, max_download_bytes=len(PNG)) as client:
        assert (await client.download(f"{server.origin}/a.png")).nbytes == len(PNG)


@pytest.mark.asyncio
async def test_streamed_size_over_cap_is_refused(server: ScriptServer) -> None:
    """A chunked body with no length stops being read once it passes the cap."""

    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "image/png"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for _ in range(64):
            await response.write(b"\0" * 4096)
        return response

    server.on("GET", "/endless", endless)
    async with ProviderClient(server.base_url, None, max_download_bytes=50_000) as client:
        with pytest.raises(DownloadError) as caught:
            await client.download(f"{server.origin}/endless")
    assert caught.value.info.code == "too_large"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "url", ["ftp://127.0.0.1/a.png", "file:///etc/passwd", "data:image/png;base64,AAAA", "", "/a"]
)
async def test_non_http_url_is_refused_without_a_request(
    server: ScriptServer, client: ProviderClient, url: str
) -> None:
    """Only http(s) URLs are fetched."""
    with pytest.raises(DownloadError) as caught:
        await client.download(url)
    assert caught.value.info.code == "unsupported_url"
    assert server.seen == []


@pytest.mark.asyncio
async def test_body_that_is_not_an_image(server: ScriptServer, client: ProviderClient) -> None:
    """A 200 whose bytes are not an image is a DownloadError saying so."""
    server.on("GET", "/a.png", Reply(body=b"<html>expired</html>"))
    with pytest.raises(DownloadError) as caught:
        await client.download(f"{server.origin}/a.png")
    assert caught.value.info.code == "not_an_image"
    assert caught.value.info.message.startswith("not an image")


@pytest.mark.asyncio
async def test_http_error_carries_status_and_excerpt(
    server: ScriptServer, client: ProviderClient
) -> None:
    """An expired signed URL's 403 is a DownloadError with the status and the body's gist."""
    xml = "<?xml version='1.0'?><Error><Code>AuthenticationFailed</Code></Error>" + "x" * 5000
    server.on("GET", "/a.png", Reply(status=403, body=xml))
    with pytest.raises(DownloadError) as caught:
        await client.download(f"{server.origin}/a.png?se=2026&sig=abc")
    assert caught.value.info.http_status == 403
    assert "AuthenticationFailed" in caught.value.info.message


@pytest.mark.asyncio
async def test_transport_failures_are_download_errors(server: ScriptServer, dead_port: int) -> None:
    """Refused, timed out or cut off: always DownloadError, never another class."""
    server.on("GET", "/slow.png", Reply(body=PNG, delay=30))
    server.on("GET", "/cut.png", Reply(body=PNG, drop_after=20))
    urls = [
        f"http://127.0.0.1:{dead_port}/a.png?sig={API_KEY}",
        f"{server.origin}/slow.png",
        f"{server.origin}/cut.png",
    ]
    async with ProviderClient(server.base_url, API_KEY, timeout_s=0.3) as client:
        for url in urls:
            with pytest.raises(DownloadError) as caught:
                await client.download(url)
            assert type(caught.value) is DownloadError
            assert caught.value.info.code == "fetch_failed"
            assert_no_key(caught.value)


@pytest.mark.asyncio
async def test_large_image_decodes_off_the_loop_identically(
    server: ScriptServer, client: ProviderClient
) -> None:
    """An image over 1 MiB (decoded in a worker thread) gives the same checked result."""
    noise = random.Random(7).randbytes(720 * 720 * 3)
    buffer = io.BytesIO()
    Image.frombytes("RGB", (720, 720), noise).save(buffer, format="PNG", compress_level=0)
    data = buffer.getvalue()
    assert len(data) > 1 << 20
    server.on("GET", "/noise.png", _png(data))
    image = await client.download(f"{server.origin}/noise.png")
    assert (image.format, image.width, image.height, image.nbytes) == ("png", 720, 720, len(data))
    assert image.sha256 == hashlib.sha256(data).hexdigest()
