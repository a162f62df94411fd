"""decode_image and decode_b64_image: real images in, checked facts out, typed errors otherwise."""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import Callable

import pytest

from runner.client import decode_b64_image, decode_image
from runner.client.errors import AmbiguousError, DownloadError

from .kit import tiny_image


@pytest.mark.parametrize(
    ("pil_format", "fmt", "extension"),
    [
        ("PNG", "png", "png"),
        ("JPEG", "jpeg", "jpg"),
        ("WEBP", "webp", "webp"),
        ("GIF", "gif", "gif"),
    ],
)
def test_decode_image_reports_format_size_and_hash(
    pil_format: str, fmt: str, extension: str
) -> None:
    """Each supported format decodes to its lower-case name, dimensions and sha256."""
    data = tiny_image(pil_format, (7, 3))
    image = decode_image(data)
    assert (image.format, image.extension, image.width, image.height) == (fmt, extension, 7, 3)
    assert image.sha256 == hashlib.sha256(data).hexdigest()
    assert image.data == data


@pytest.mark.parametrize(
    "data",
    [b"", b"not an image at all", tiny_image("PNG")[:20], tiny_image("BMP")],
    ids=["empty", "text", "truncated-png", "bmp"],
)
def test_decode_image_refuses_what_is_not_a_supported_image(data: bytes) -> None:
    """Garbage, a cut-off PNG or an unsupported format is a DownloadError 'not an image'."""
    with pytest.raises(DownloadError) as caught:
        decode_image(data)
    assert caught.value.info.code == "not_an_image"
    assert caught.value.info.message.startswith("not an image")


def test_decode_image_detects_corrupted_png_chunk() -> None:
    """verify() catches a PNG whose chunk data no longer matches its CRC."""
    data = bytearray(tiny_image("PNG", (8, 8)))
    idat = data.index(b"IDAT")
    data[idat + 6] ^= 0xFF
    with pytest.raises(DownloadError):
        decode_image(bytes(data))


def test_every_single_byte_corruption_of_a_png_is_refused() -> None:
    """Flipping any one byte of a PNG (signature, length, type, data or CRC) gets it refused.

    The closing IEND chunk is left out: it holds no image data, and Pillow, whose verdict
    decides whatever the fast path does not accept, stops reading at its type.
    """
    data = tiny_image("PNG", (5, 4))
    for position in range(len(data) - 12):
        corrupted = bytearray(data)
        corrupted[position] ^= 0x55
        with pytest.raises(DownloadError):
            decode_image(bytes(corrupted))


def test_png_check_agrees_with_pillow() -> None:
    """The PNG fast path reports what Pillow reads from the same file, trailing bytes and all."""
    from PIL import Image

    for size in [(1, 1), (7, 3), (300, 2)]:
        data = tiny_image("PNG", size)
        for suffix in (b"", b"trailing"):
            image = decode_image(data + suffix)
            with Image.open(io.BytesIO(data + suffix)) as pil:
                assert (image.format, image.width, image.height) == ("png", *pil.size)


@pytest.mark.parametrize(
    "wrap",
    [
        lambda b64: b64,
        lambda b64: f"data:image/png;base64,{b64}",
        lambda b64: "\n".join(b64[i : i + 20] for i in range(0, len(b64), 20)),
    ],
    ids=["bare", "data-url", "wrapped-lines"],
)
def test_decode_b64_image_accepts_common_encodings(wrap: Callable[[str], str]) -> None:
    """Bare base64, a data: URL, or line-wrapped base64 all decode to the image."""
    data = tiny_image("PNG", (4, 4))
    text = wrap(base64.b64encode(data).decode())
    image = decode_b64_image(text)
    assert image.data == data
    assert image.format == "png"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("not*base64!", "bad_b64"),
        ("QUJDRA", "bad_b64"),  # bad padding
        (base64.b64encode(b"plain text, paid for").decode(), "not_an_image"),
    ],
)
def test_decode_b64_image_failure_is_ambiguous_and_answered(text: str, code: str) -> None:
    """An unreadable inline image came in a 200: AmbiguousError(answered), not DownloadError."""
    with pytest.raises(AmbiguousError) as caught:
        decode_b64_image(text)
    assert (caught.value.info.code, caught.value.info.http_status) == (code, 200)
    assert caught.value.answered is True
