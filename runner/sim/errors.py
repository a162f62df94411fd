"""Provider error answers in OpenAI's envelope: ``{"error": {message, type, param, code}}``.

The simulator plays the provider, so the bodies copy the real ones (facts.md 1.5, 3.1) closely
enough that a client's classification of them is exercised for real.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ApiError:
    """One error answer: HTTP status plus the four envelope fields (and any extras)."""

    status: int
    message: str
    type: str = "invalid_request_error"
    param: str | None = None
    code: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def body(self) -> bytes:
        error: dict[str, Any] = {
            "message": self.message,
            "type": self.type,
            "param": self.param,
            "code": self.code,
        }
        error.update(self.extra)
        return json.dumps({"error": error}, separators=(",", ":")).encode()


class ApiFailure(Exception):
    """Raised by request validation; carries the answer to send."""

    def __init__(self, error: ApiError) -> None:
        super().__init__(error.message)
        self.error = error


def invalid(param: str | None, message: str, code: str | None = "invalid_value") -> ApiFailure:
    """A 400 invalid_request_error naming the offending parameter."""
    return ApiFailure(ApiError(400, message, param=param, code=code))


def unknown_parameter(param: str) -> ApiFailure:
    return invalid(param, f"Unknown parameter: '{param}'.", "unknown_parameter")


MISSING_KEY = ApiError(
    401,
    "You didn't provide an API key. You need to provide your API key in an Authorization "
    "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
)
# The message deliberately does not echo any part of the key that was sent.
BAD_KEY = ApiError(401, "Incorrect API key provided.", code="invalid_api_key")
SERVER_ERROR = ApiError(
    500,
    "The server had an error while processing your request. Sorry about that!",
    type="server_error",
)
ALL_CHANNELS_FAILED = ApiError(
    503,
    "All upstream channels failed for this model. Please retry later.",
    type="upstream_error",
    code="all_channels_failed",
    extra={"retryable": True},
)
RATE_LIMITED = ApiError(
    429,
    "Rate limit exceeded for images per minute in organization org-sim. Limit: 5/1min. "
    "Current: 6/1min. Please visit https://platform.openai.com/docs/guides/rate-limits "
    "to learn how to increase your rate limit.",
    type="requests",
    code="rate_limit_exceeded",
)
TASK_NOT_FOUND = ApiError(
    404, "Task not found or no longer available.", code="async_task_not_found"
)
BAD_JSON = ApiError(
    400,
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
    "using your HTTP library correctly. The OpenAI API expects a JSON payload.)",
)
URL_EXPIRED = ApiError(404, "This image URL has expired or does not exist.", code="not_found")
CONTENT_POLICY = ApiError(
    400,
    "Your request was rejected as a result of our safety system. Your prompt may contain "
    "text that is not allowed by our safety system.",
    code="content_policy_violation",
)
MODERATION_BLOCKED = ApiError(
    400,
    "Your request was rejected by the safety system. If you believe this is an error, "
    "contact us at help.openai.com. safety_violations=[violence].",
    type="image_generation_user_error",
    code="moderation_blocked",
    extra={"moderation_details": {"moderation_stage": "input", "categories": ["violence"]}},
)


def not_found_url(method: str, path: str) -> ApiError:
    return ApiError(404, f"Invalid URL ({method} {path})")


def model_not_found(model: str) -> ApiFailure:
    message = f"The model `{model}` does not exist or you do not have access to it."
    return ApiFailure(ApiError(404, message, code="model_not_found"))
