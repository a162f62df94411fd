"""Checking that bytes really are an image, before anything is written or counted as done."""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import io
import re

from PIL import Image

from runner.client.errors import AmbiguousError, DownloadError
from runner.types import DecodedImage

# Pillow format name -> the lower-case format recorded; MPO is a JPEG with extra frames.
_FORMATS = {"PNG": "png", "JPEG": "jpeg", "MPO": "jpeg", "WEBP": "webp", "GIF": "gif"}
_DATA_URL = re.compile(r"^data:[^,]*;base64,", re.IGNORECASE)
_WHITESPACE = re.compile(rb"\s+")


def decode_image(data: bytes) -> DecodedImage:
    """Open and verify ``data`` with Pillow; raise DownloadError if it is not a known image."""
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
