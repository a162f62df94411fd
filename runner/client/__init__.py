"""The provider client: the runner's one I/O boundary to an OpenAI-compatible image API.

``ProviderClient`` turns a request into a typed answer (:class:`runner.types.Submission`,
:class:`runner.types.TaskStatus`, :class:`runner.types.DecodedImage`) or a typed exception from
:mod:`runner.client.errors`. It never imports the store, the scheduler or the manifest. HTTP goes
through a :class:`~runner.client.transport.Transport` (aiohttp's by default), which may be replaced.
"""

from typing import TYPE_CHECKING, Any

from runner.client.client import ProviderClient
from runner.client.images import decode_b64_image, decode_image
from runner.client.transport import BodyTooLargeError, Reply, Transport

if TYPE_CHECKING:
    from runner.client.aiohttp_transport import AiohttpTransport

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
    # Loaded on first use: importing aiohttp costs ~0.2 s, and a run's own process never needs it.
    if name == "AiohttpTransport":
        from runner.client.aiohttp_transport import AiohttpTransport

        return AiohttpTransport
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
