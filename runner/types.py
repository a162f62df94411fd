"""Plain data types shared by every layer.

Imports flow one way: cli -> scheduler -> (store, client, outputs, manifest) -> this module.
Nothing here does I/O or imports another runner module, so every layer can depend on it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

JSON = dict[str, Any]


class ItemState(enum.StrEnum):
    """Where a work item is in its life; persisted as the string value."""

    PENDING = "pending"  # not sent yet, or waiting (not_before) for another attempt
    SUBMITTING = "submitting"  # intent recorded: a POST may be on the wire
    POLLING = "polling"  # the provider accepted an async task; task_id is recorded
    DOWNLOADING = "downloading"  # the answer's image URLs are recorded, files not yet written
    DONE = "done"
    FAILED = "failed"
    AMBIGUOUS = "ambiguous"  # held: may have been charged, answer never recorded


class ErrorKind(enum.StrEnum):
    """How a failure is classified; decides what the scheduler does next."""

    RETRYABLE = "retryable"  # 408/409/429/5xx/connection refused: send again later
    RATE_LIMITED = "rate_limited"  # 429 (a retryable kind of its own, to slow down)
    AMBIGUOUS = "ambiguous"  # sent, no usable answer: may have been charged
    INVALID = "invalid"  # the provider refused the item itself; retrying cannot help
    TASK_FAILED = "task_failed"  # an async task ended failed or cancelled
    TASK_NOT_FOUND = "task_not_found"  # the provider no longer knows the task
    TASK_TIMEOUT = "task_timeout"  # the task never finished within poll.timeout_s
    DOWNLOAD = "download"  # an image URL could not be fetched or decoded
    FATAL = "fatal"  # 401/403/402/billing/quota: stop the whole run
    INTERNAL = "internal"  # a bug or an unexpected local failure


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """A failure as recorded in the state DB and in failures.jsonl."""

    kind: ErrorKind
    message: str
    http_status: int | None = None
    code: str | None = None

    def to_json(self) -> JSON:
        return {
            "kind": self.kind.value,
            "http_status": self.http_status,
            "code": self.code,
            "message": self.message,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ErrorInfo:
        return cls(
            kind=ErrorKind(data["kind"]),
            message=str(data.get("message", "")),
            http_status=data.get("http_status"),
            code=data.get("code"),
        )


@dataclass(frozen=True, slots=True)
class WorkItem:
    """One request to make: a prompt x model x size x repeat cell of the job's matrix.

    The POST body is exactly ``{"model": model, "prompt": prompt, **params}``: ``params`` holds
    every other field sent, including ``size`` when the model takes one and ``n``.
    ``size`` is the label users asked for (kept for outputs even where the model is sent
    ``aspect_ratio``/``resolution`` instead).
    """

    item_id: str
    seq: int  # position in the manifest's expansion order
    model: str
    prompt: str
    size: str | None
    params: Mapping[str, Any]
    prompt_id: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    repeat: int = 0

    @property
    def images_expected(self) -> int:
        n = self.params.get("n", 1)
        return n if isinstance(n, int) and n > 0 else 1

    def request_body(self) -> JSON:
        return {"model": self.model, "prompt": self.prompt, **self.params}


@dataclass(frozen=True, slots=True)
class ImageRef:
    """One image slot in a provider answer: inline base64 or a URL to download."""

    url: str | None = None
    b64_json: str | None = None
    revised_prompt: str | None = None


@dataclass(frozen=True, slots=True)
class Submission:
    """The provider's answer to a generation POST: images now, or an async task to poll."""

    images: tuple[ImageRef, ...] = ()
    task_id: str | None = None
    poll_url: str | None = None  # absolute, already resolved against the base URL's origin
    usage: Mapping[str, Any] | None = None

    @property
    def is_async(self) -> bool:
        return self.task_id is not None


class TaskState(enum.StrEnum):
    PENDING = "pending"  # pending or processing: poll again
    COMPLETED = "completed"
    FAILED = "failed"  # failed, or cancelled


@dataclass(frozen=True, slots=True)
class TaskStatus:
    """One poll's answer for an async task."""

    state: TaskState
    images: tuple[ImageRef, ...] = ()
    usage: Mapping[str, Any] | None = None
    error: ErrorInfo | None = None
    progress: float | None = None


@dataclass(frozen=True, slots=True)
class DecodedImage:
    """Image bytes checked to decode as an image, with what the output manifest records."""

    data: bytes
    format: str  # lower-case file extension: png, jpeg, webp, gif
    width: int
    height: int
    sha256: str

    @property
    def nbytes(self) -> int:
        return len(self.data)

    @property
    def extension(self) -> str:
        return "jpg" if self.format == "jpeg" else self.format


@dataclass(frozen=True, slots=True)
class StoredImage:
    """An image written under <out>/images/, as recorded in the state DB."""

    item_id: str
    image_index: int
    file_name: str  # relative to the output directory, e.g. images/<item_id>-0.png
    format: str
    width: int
    height: int
    nbytes: int
    sha256: str
    revised_prompt: str | None = None


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    """Where and how to send requests. ``sim`` set means: start the built-in simulator."""

    base_url: str = "https://api.openai.com/v1"
    api_key_env: str | None = "OPENAI_API_KEY"
    timeout_s: float = 180.0
    headers: Mapping[str, str] = field(default_factory=dict)
    sim: Mapping[str, Any] | None = None  # simulator options (see runner.sim); None = real


@dataclass(frozen=True, slots=True)
class RateLimitConfig:
    requests_per_minute: float | None = None
    images_per_minute: float | None = None


@dataclass(frozen=True, slots=True)
class RetryConfig:
    max_attempts: int = 5
    backoff_s: float = 1.0  # the first retry waits up to this (full jitter), doubling per attempt
    max_backoff_s: float = 60.0


@dataclass(frozen=True, slots=True)
class PollConfig:
    interval_s: float = 3.0
    max_interval_s: float = 30.0
    timeout_s: float = 1800.0
    concurrency: int = 32


@dataclass(frozen=True, slots=True)
class DownloadConfig:
    concurrency: int = 16
    max_bytes: int = 50 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class JobSettings:
    """Everything in a manifest except the prompt x model x size matrix itself."""

    name: str
    manifest_path: Path
    output_dir: Path
    provider: ProviderConfig
    concurrency: int = 8
    max_pending_tasks: int = 200
    rate_limit: RateLimitConfig = field(default_factory=RateLimitConfig)
    budget_usd: float | None = None
    retry: RetryConfig = field(default_factory=RetryConfig)
    poll: PollConfig = field(default_factory=PollConfig)
    download: DownloadConfig = field(default_factory=DownloadConfig)


@dataclass(frozen=True, slots=True)
class ItemRecord:
    """An item as the state DB knows it: what the output writers read."""

    item: WorkItem
    state: ItemState
    attempts: int = 0
    task_id: str | None = None
    cost_usd: float | None = None
    usage: Mapping[str, Any] | None = None
    error: ErrorInfo | None = None
    finished_at: str | None = None  # ISO 8601 UTC, when it became done/failed
    images: tuple[StoredImage, ...] = ()
