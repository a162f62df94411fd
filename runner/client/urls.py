"""The base URL, its origin, and where a task is polled.

The origin (scheme, host, port) is the trust boundary: credentials go to it and nowhere else, and
gateways' relative ``poll_url`` values (which already hold ``/v1/...``) resolve against it rather
than against ``base_url``.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urljoin, urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}

Origin = tuple[str, str, int]


def origin_of(url: str) -> Origin | None:
    """(scheme, host, port) with the default port filled in; None if not an http(s) URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port if port is not None else _DEFAULT_PORTS[scheme]


@dataclass(frozen=True, slots=True)
class BaseUrl:
    """A validated API base URL such as ``https://api.example.com/v1``."""

    url: str  # without a trailing slash
    origin: Origin
    origin_url: str  # scheme://host[:port], no path

    @classmethod
    def parse(cls, base_url: str) -> BaseUrl:
        """Validate ``base_url``; a bad one is a configuration error, raised before any I/O."""
        url = base_url.strip().rstrip("/")
        origin = origin_of(url)
        parts = urlsplit(url)
        if origin is None or parts.query or parts.fragment:
            raise ValueError(f"base URL must be an http(s) URL with no query: {base_url!r}")
        return cls(url=url, origin=origin, origin_url=f"{parts.scheme}://{parts.netloc}")

    def endpoint(self, path: str) -> str:
        return f"{self.url}/{path}"

    def is_same_origin(self, url: str) -> bool:
        return origin_of(url) == self.origin

    def tasks_url(self, task_id: str) -> str:
        return f"{self.url}/tasks/{quote(task_id, safe='')}"

    def poll_url(self, task_id: str, poll_url: str | None) -> str:
        """Where to poll ``task_id``: the provider's ``poll_url`` when it is safe to follow.

        A relative ``poll_url`` resolves against the origin. An absolute one on another origin
        is not followed, because polls carry the bearer token; the task is then polled at
        ``{base_url}/tasks/{task_id}``, the gateways' canonical address.
        """
        if not poll_url:
            return self.tasks_url(task_id)
        if "://" not in poll_url and not poll_url.startswith("//"):
            return urljoin(self.origin_url + "/", poll_url.lstrip("/"))
        return poll_url if self.is_same_origin(poll_url) else self.tasks_url(task_id)
