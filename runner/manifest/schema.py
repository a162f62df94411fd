"""The manifest's shape as pydantic models: the judge of validity, its messages, `runner schema`.

values.py reads plainly valid manifests without pydantic and mirrors these models. Only
structure and types live here; what depends on the catalog (sizes, params, prompt lengths)
or on the file system is checked later with positions. Union members carry Tags named after
their class so error locations can be mapped back to YAML key paths.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from runner.manifest.values import listify, per_image_price, price_kinds, scalar


def _no_bool(value: Any) -> Any:
    """YAML `true` is not the number 1 (pydantic's lax mode would take it as one)."""
    if isinstance(value, bool):
        raise PydanticCustomError("bool_not_number", "a boolean is not a number")
    return value


PosInt = Annotated[int, Field(ge=1), BeforeValidator(_no_bool)]
PosFloat = Annotated[float, Field(gt=0), BeforeValidator(_no_bool)]
Price = Annotated[float, Field(ge=0), BeforeValidator(_no_bool)]
Scalar = Annotated[
    Any, AfterValidator(scalar), WithJsonSchema({"type": ["string", "number", "boolean"]})
]
PerImage = Annotated[
    Any,
    AfterValidator(per_image_price),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0},
                {"type": "object", "additionalProperties": {"type": "number", "minimum": 0}},
            ]
        }
    ),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)


class ProviderSpec(_Strict):
    """Where requests go. `sim` set (even to {}) starts the built-in simulator instead."""

    base_url: str | None = Field(
        default=None, description="default: $OPENAI_BASE_URL, else OpenAI's"
    )
    api_key_env: str | None = Field(
        default=None,
        description="the NAME of the variable holding the key (default OPENAI_API_KEY)",
    )
    timeout_s: Annotated[float, Field(ge=1), BeforeValidator(_no_bool)] = 180.0
    headers: dict[str, str] = Field(default_factory=dict)
    sim: dict[str, Any] | None = Field(default=None, description="simulator options")


class RateLimitSpec(_Strict):
    requests_per_minute: PosFloat | None = None
    images_per_minute: PosFloat | None = None


class RetrySpec(_Strict):
    max_attempts: PosInt = 5
    backoff_s: PosFloat = 1.0  # first retry waits up to this (full jitter), doubling per attempt
    max_backoff_s: PosFloat = 60.0


class PollSpec(_Strict):
    interval_s: PosFloat = 3.0
    max_interval_s: PosFloat = 30.0
    timeout_s: PosFloat = 1800.0
    concurrency: PosInt = 32


class DownloadSpec(_Strict):
    concurrency: PosInt = 16
    max_bytes: PosInt = 50 * 1024 * 1024


class PromptText(_Strict):
    """One prompt, or with `vars` a template expanded over the product of their values."""

    text: Annotated[str, Field(min_length=1)]
    vars: dict[str, Annotated[list[Scalar], BeforeValidator(listify)]] | None = None
    id: str | None = None
    meta: dict[str, Any] | None = None


class PromptFile(_Strict):
    """A .txt, .jsonl or .csv file of prompts, relative to the manifest's directory."""

    file: Annotated[str, Field(min_length=1)]
    meta: dict[str, Any] | None = Field(default=None, description="copied into every prompt's meta")


def _prompt_kind(value: Any) -> str | None:
    if isinstance(value, PromptText | PromptFile):
        return type(value).__name__  # when serialising a validated manifest
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return "str"
    if isinstance(value, dict):
        return "PromptFile" if "file" in value else "PromptText"
    return None


PromptEntry = Annotated[
    Annotated[str, Tag("str")]
    | Annotated[PromptText, Tag("PromptText")]
    | Annotated[PromptFile, Tag("PromptFile")],
    Discriminator(
        _prompt_kind,
        custom_error_type="prompt_form",
        custom_error_message="must be a string, {text: ..., vars: ...} or {file: ...}",
    ),
]


class ModelEntry(_Strict):
    name: Annotated[str, Field(min_length=1)]
    sizes: list[str] | None = Field(default=None, description="replaces the global sizes")
    params: dict[str, Any] | None = Field(default=None, description="merged over the global params")
    repeats: PosInt | None = None


def _model_kind(value: Any) -> str | None:
    if isinstance(value, str):
        return "str"
    return "ModelEntry" if isinstance(value, dict | ModelEntry) else None


ModelItem = Annotated[
    Annotated[str, Tag("str")] | Annotated[ModelEntry, Tag("ModelEntry")],
    Discriminator(
        _model_kind,
        custom_error_type="model_form",
        custom_error_message="must be a model name or {name: ..., sizes: ..., params: ...}",
    ),
]


def _provider_kind(value: Any) -> str | None:
    if isinstance(value, str):
        return "sim"
    return "ProviderSpec" if isinstance(value, dict | ProviderSpec) else None


ProviderField = Annotated[
    Annotated[Literal["sim"], Tag("sim")] | Annotated[ProviderSpec, Tag("ProviderSpec")],
    Discriminator(
        _provider_kind,
        custom_error_type="provider_form",
        custom_error_message="must be `sim` or a mapping (base_url, api_key_env, ...)",
    ),
]


class PriceEntry(_Strict):
    """A price override: per image, or per million tokens."""

    per_image: PerImage | None = None
    input_per_mtok: Price | None = None
    output_per_mtok: Price | None = None
    image_input_per_mtok: Price | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> PriceEntry:
        problem = price_kinds(self.per_image, self.model_fields_set)
        if problem is not None:
            raise ValueError(problem)
        return self


class Manifest(_Strict):
    """A job: prompts x models x sizes x repeats, and how to run it."""

    model_config = ConfigDict(title="runner job manifest")

    name: str | None = Field(default=None, description="default: the file's stem")
    output_dir: str | None = Field(default=None, description="default: out/<name>")
    provider: ProviderField | None = None
    concurrency: PosInt = 8
    max_pending_tasks: PosInt = 200
    rate_limit: RateLimitSpec = Field(default_factory=RateLimitSpec)
    budget_usd: PosFloat | None = None
    retry: RetrySpec = Field(default_factory=RetrySpec)
    poll: PollSpec = Field(default_factory=PollSpec)
    download: DownloadSpec = Field(default_factory=DownloadSpec)
    prompts: list[PromptEntry]
    models: list[ModelItem]
    sizes: list[str] | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    repeats: PosInt = 1
    pricing: dict[str, PriceEntry] = Field(default_factory=dict)


def json_schema() -> dict[str, Any]:
    """The manifest's JSON Schema (for `runner schema` and yaml-language-server)."""
    schema = Manifest.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
