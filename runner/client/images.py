"""Checking that bytes really are an image, before anything is written or counted as done."""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import io
import re
import struct
import zlib

from runner.client.errors import AmbiguousError, DownloadError
from runner.types import DecodedImage

# Pillow format name -> the lower-case format recorded; MPO is a JPEG with extra frames.
_FORMATS = {"PNG": "png", "JPEG": "jpeg", "MPO": "jpeg", "WEBP": "webp", "GIF": "gif"}
_DATA_URL = re.compile(r"^data:[^,]*;base64,", re.IGNORECASE)
_WHITESPACE = re.compile(rb"\s+")


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHUNK_HEAD = struct.Struct(">I4s")
_IHDR_SIZE = struct.Struct(">II")
# Pillow's own decompression-bomb bound; a larger PNG goes to Pillow, which refuses it.
_MAX_PIXELS = 2 * 89_478_485


def decode_image(data: bytes) -> DecodedImage:
    """Check that ``data`` is a whole image of a known format; raise DownloadError if not.

    A well-formed PNG (every chunk's CRC right, IHDR first, IDAT present, IEND last) is checked
    here: walking its few chunks costs a tenth of Pillow's verify, and PNG is what most
    providers send. Anything else, including any PNG this walk does not accept, is opened and
    verified by Pillow, whose verdict and message decide.
    """
    size = _png_size(data)
    if size is not None:
        return DecodedImage(data, "png", *size, hashlib.sha256(data).hexdigest())
    return _pillow_decode(data)


def _png_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a structurally sound PNG, else None (Pillow will look at it)."""
    if not data.startswith(_PNG_SIGNATURE):
        return None
    view, offset, seen = memoryview(data), len(_PNG_SIGNATURE), []
    while offset + 12 <= len(data):
        length, kind = _CHUNK_HEAD.unpack_from(data, offset)
        end = offset + 8 + length
        if end + 4 > len(data):
            return None
        crc = int.from_bytes(view[end : end + 4], "big")
        if zlib.crc32(view[offset + 4 : end]) != crc:
            return None
        seen.append(kind)
        if kind == b"IEND":
            break
        offset = end + 4
    if len(seen) < 3 or seen[0] != b"IHDR" or seen[-1] != b"IEND" or b"IDAT" not in seen:
        return None
    if _CHUNK_HEAD.unpack_from(data, len(_PNG_SIGNATURE))[0] != 13:  # IHDR's fixed size
        return None
    width, height = _IHDR_SIZE.unpack_from(data, len(_PNG_SIGNATURE) + 8)
    if not 0 < width * height <= _MAX_PIXELS:
        return None
    return width, height


def _pillow_decode(data: bytes) -> DecodedImage:
    from PIL import Image  # imported on first use: most runs see only PNGs, checked above

    try:
        with Image.open(io.BytesIO(data)) as image:
            pil_format = image.format or ""
            width, height = image.size
            image.verify()
    # Pillow signals a bad file with many unrelated types (OSError, SyntaxError, struct.error,
    # ValueError, DecompressionBombError...); any of them means "not a usable image".
    except Exception as exc:
        raise DownloadError(
            f"not an image: {type(exc).__name__}: {str(exc)[:120]}", code="not_an_image"
        ) from exc
    fmt = _FORMATS.get(pil_format)
    if fmt is None:
        raise DownloadError(f"not an image: unsupported format {pil_format!r}", code="not_an_image")
    return DecodedImage(data, fmt, width, height, hashlib.sha256(data).hexdigest())


def decode_b64_image(b64: str) -> DecodedImage:
    """Decode an inline ``b64_json`` image (a bare string or a ``data:`` URL).

    The answer carrying it was a 200, so the image was paid for: one that cannot be read raises
    AmbiguousError with ``http_status=200`` (retried, counted as a possible duplicate charge).
    """
    data = _b64decode(b64)
    try:
        return decode_image(data)
    except DownloadError as exc:
        raise AmbiguousError(
            f"b64_json {exc.info.message}", http_status=200, code="not_an_image"
        ) from exc


def _b64decode(b64: str) -> bytes:
    """Strict base64, tolerating a ``data:`` prefix and line breaks (some gateways wrap lines).

    The bare single-line form comes first: it is what providers send, and the regular
    expressions cost ten times the decode itself on a small image.
    """
    with contextlib.suppress(binascii.Error, ValueError):  # else the general form decides
        return base64.b64decode(b64, validate=True)
    raw = _WHITESPACE.sub(b"", _DATA_URL.sub("", b64, count=1).encode("ascii", "replace"))
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise AmbiguousError(
            f"b64_json is not valid base64: {exc}", http_status=200, code="bad_b64"
        ) from exc
