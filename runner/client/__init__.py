"""The provider client: the runner's one I/O boundary to an OpenAI-compatible image API.

``ProviderClient`` turns a request into a typed answer (:class:`runner.types.Submission`,
:class:`runner.types.TaskStatus`, :class:`runner.types.DecodedImage`) or a typed exception from
:mod:`runner.client.errors`. It never imports the store, the scheduler or the manifest. HTTP goes
through a :class:`~runner.client.transport.Transport` (aiohttp's by default), which may be replaced.

The names below load on first use, so that importing one module of the package (the HTTP
worker's, or :mod:`runner.client.spawn` at the very start of `runner run`) does not import them
all; aiohttp, ~0.2 s to import, only ever loads in the HTTP worker process.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runner.client.aiohttp_transport import AiohttpTransport
    from runner.client.client import ProviderClient
    from runner.client.images import decode_b64_image, decode_image
    from runner.client.transport import BodyTooLargeError, Reply, Transport

_HOMES = {
    "AiohttpTransport": "runner.client.aiohttp_transport",
    "BodyTooLargeError": "runner.client.transport",
    "ProviderClient": "runner.client.client",
    "Reply": "runner.client.transport",
    "Transport": "runner.client.transport",
    "decode_b64_image": "runner.client.images",
    "decode_image": "runner.client.images",
}
__all__ = [
    "AiohttpTransport",
    "BodyTooLargeError",
    "ProviderClient",
    "Reply",
    "Transport",
    "decode_b64_image",
    "decode_image",
]


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(_HOMES[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
