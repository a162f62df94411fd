"""Refusals: each validation error's status, type, param and code, as the providers send them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from .kit import Api, error_of

INVALID = "invalid_request_error"


def case(model: str, param: str | None, code: str, status: int = 400, **fields: Any) -> Any:
    """One refusal: a body for ``model`` with ``fields`` (prompt "cat"; None drops a key)."""
    body = {k: v for k, v in {"model": model, "prompt": "cat", **fields}.items() if v is not None}
    return pytest.param(body, status, param, code, id=f"{model}-{param}-{code}")


def _async(value: Any) -> dict[str, Any]:
    """`async` is a Python keyword, so it cannot be passed as a plain keyword argument."""
    return {"async": value}


CASES = [
    case("dall-e-9", None, "model_not_found", status=404),
    case("dall-e-2", "prompt", "missing_required_parameter", prompt=None),
    case("dall-e-2", "prompt", "invalid_type", prompt=5),
    case("dall-e-2", "prompt", "string_above_max_length", prompt="x" * 1001),
    case("dall-e-3", "prompt", "string_above_max_length", prompt="x" * 4001),
    case("dall-e-2", "size", "invalid_value", size="1792x1024"),
    case("dall-e-3", "size", "invalid_value", size="512x512"),
    case("gpt-image-1", "size", "invalid_value", size="1792x1024"),
    case("dall-e-3", "n", "invalid_value", n=2),
    case("dall-e-2", "n", "integer_above_max_value", n=11),
    case("dall-e-2", "n", "integer_below_min_value", n=0),
    case("dall-e-2", "n", "invalid_type", n="2"),
    case("midjourney", "n", "integer_above_max_value", n=5),
    case("dall-e-2", "quality", "invalid_value", quality="hd"),
    case("dall-e-3", "quality", "invalid_value", quality="high"),
    case("gpt-image-1", "quality", "invalid_value", quality="hd"),
    case("dall-e-3", "style", "invalid_value", style="moody"),
    case("dall-e-2", "response_format", "invalid_value", response_format="jpeg"),
    case("gpt-image-1", "response_format", "unknown_parameter", response_format="url"),
    case("gpt-image-2", "response_format", "unknown_parameter", response_format="b64_json"),
    case("gpt-image-1.5", "style", "unknown_parameter", style="vivid"),
    case("dall-e-3", "colour", "unknown_parameter", colour="red"),
    case("gpt-image-1", "async", "unknown_parameter", **_async(True)),
    case("gpt-image-1", "output_format", "invalid_value", output_format="gif"),
    case(
        "gpt-image-1", "background", "invalid_value", background="transparent", output_format="jpeg"
    ),
    case("gpt-image-1", "stream", "unsupported_value", stream=True),
    case("gpt-image-2", "size", "invalid_value", size="1000x1008"),  # not multiples of 16
    case("gpt-image-2", "size", "invalid_value", size="3840x1024"),  # ratio above 3:1
    case("gpt-image-2", "size", "invalid_value", size="512x512"),  # too few pixels
    case("gpt-image-2", "size", "invalid_value", size="4096x2048"),  # side above 3840
    case("gemini-2.5-flash-image", "resolution", "unknown_parameter", resolution="2k"),
    case("gemini-3-pro-image-preview", "resolution", "invalid_value", resolution="8k"),
    case("gemini-2.5-flash-image", "aspect_ratio", "invalid_value", aspect_ratio="7:3"),
    case("flux-schnell", "size", "invalid_value", size="4096x4096"),
    case("flux-pro", "async", "invalid_type", **_async("yes")),
]


@pytest.mark.parametrize(("body", "status", "param", "code"), CASES)
def test_invalid_requests_are_refused_with_the_openai_envelope(
    api: Api, body: dict[str, Any], status: int, param: str | None, code: str
) -> None:
    """Each invalid field gets its status, invalid_request_error, `param` naming it, and a code."""
    response = api.post(body)
    assert response.status_code == status, response.text
    error = error_of(response)
    assert (error["type"], error["param"], error["code"]) == (INVALID, param, code)
    assert error["message"]


def test_gpt_image_2_takes_sizes_inside_the_flexible_contract(api: Api) -> None:
    """Multiples of 16, ratio <= 3:1, within the pixel bounds: accepted at the edges."""
    for size in ("3840x2160", "2400x800", "1024x640"):
        body = {"model": "gpt-image-2", "prompt": "cat", "size": size, "quality": "low"}
        assert api.post(body).status_code == 200, size


def test_dall_e_prompt_with_forbidden_word_is_a_content_policy_violation(api: Api) -> None:
    """dall-e refuses with OpenAI's content_policy_violation body (param null)."""
    response = api.post({"model": "dall-e-3", "prompt": "a Forbidden thing"})
    assert response.status_code == 400
    error = error_of(response)
    assert (error["type"], error["param"], error["code"]) == (
        INVALID,
        None,
        "content_policy_violation",
    )
    assert error["message"].startswith("Your request was rejected as a result of our safety")


def test_gpt_image_prompt_with_forbidden_word_is_moderation_blocked(api: Api) -> None:
    """gpt-image refuses with image_generation_user_error / moderation_blocked and details."""
    response = api.post({"model": "gpt-image-1", "prompt": "forbidden fruit"})
    assert response.status_code == 400
    error = error_of(response)
    assert (error["type"], error["param"], error["code"]) == (
        "image_generation_user_error",
        None,
        "moderation_blocked",
    )
    assert error["moderation_details"]["moderation_stage"] == "input"


def test_a_word_merely_containing_forbidden_is_allowed(api: Api) -> None:
    """Only the whole word trips the safety system."""
    assert api.post({"model": "dall-e-2", "prompt": "unforbiddenness"}).status_code == 200


def test_body_that_is_not_json_is_a_400(api: Api) -> None:
    """A body that does not parse as JSON gets OpenAI's parse error."""
    response = api.http.post(
        f"{api.sim.base_url}/images/generations",
        content=b"{not json",
        headers={"Authorization": "Bearer sk-x", "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert error_of(response)["type"] == INVALID


def test_body_that_is_not_an_object_is_a_400(api: Api) -> None:
    """A JSON array is not a request."""
    response = api.post(["model", "dall-e-2"])
    assert (response.status_code, error_of(response)["code"]) == (400, "invalid_type")


@pytest.mark.parametrize("header", [{}, {"Authorization": "Basic sk-x"}, {"Authorization": "sk-x"}])
def test_missing_bearer_is_a_401(api: Api, header: dict[str, str]) -> None:
    """No usable bearer token: 401 invalid_request_error, even with no api_key configured."""
    response = api.post({"model": "dall-e-2", "prompt": "cat"}, headers=header)
    assert response.status_code == 401
    assert error_of(response)["type"] == INVALID


def test_wrong_key_is_a_401_invalid_api_key(make_api: Callable[..., Api]) -> None:
    """With api_key set, another bearer gets 401 invalid_api_key and the key is never echoed."""
    api = make_api(api_key="sk-right")
    wrong = {"Authorization": "Bearer sk-wrong-SECRET"}
    for response in (
        api.post({"model": "dall-e-2", "prompt": "cat"}, headers=wrong),
        api.get("/v1/models?recommended_for=image", headers=wrong),
        api.get("/v1/tasks/ldtask_x", headers=wrong),
    ):
        assert response.status_code == 401
        assert error_of(response)["code"] == "invalid_api_key"
        assert "SECRET" not in response.text
    right = {"Authorization": "Bearer sk-right"}
    assert api.post({"model": "dall-e-2", "prompt": "cat"}, headers=right).status_code == 200


def test_unknown_api_path_is_a_json_404(api: Api) -> None:
    """Paths the provider does not have answer in the error envelope too."""
    response = api.get("/v1/images/edits-nope/extra")
    assert response.status_code == 404
    assert error_of(response)["message"] == "Invalid URL (GET /v1/images/edits-nope/extra)"
