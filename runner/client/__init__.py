"""The provider client: the runner's one I/O boundary to an OpenAI-compatible image API.

``ProviderClient`` turns a request into a typed answer (:class:`runner.types.Submission`,
:class:`runner.types.TaskStatus`, :class:`runner.types.DecodedImage`) or a typed exception from
:mod:`runner.client.errors`. It never imports the store, the scheduler or the manifest. HTTP goes
through a :class:`~runner.client.transport.Transport` (aiohttp's by default), which may be replaced.
"""

from runner.client.client import ProviderClient
from runner.client.images import decode_b64_image, decode_image
from runner.client.transport import AiohttpTransport, BodyTooLargeError, Reply, Transport

__all__ = [
    "AiohttpTransport",
    "BodyTooLargeError",
    "ProviderClient",
    "Reply",
    "Transport",
    "decode_b64_image",
    "decode_image",
]
